// HttpConn and HttpConnStream: one client connection of the HTTP receiver, and the
// cpp-httplib Stream over it whose reads take the bytes the watcher already received first,
// then wait for the socket, bounded by a timeout and cut off when the server stops.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "receiver/http_connections.h"

namespace onceflow::receiver {

// One client connection. Owned by the watcher while it waits for a request, by one worker
// while a request is processed; the hand-over goes through the owner's mutex.
struct HttpConn {
  using Clock = std::chrono::steady_clock;

  int fd = -1;
  std::string buf;  // bytes received and not consumed yet, from `pos` on
  size_t pos = 0;
  Clock::time_point deadline;  // while waiting: closed when it passes
  bool busy = false;           // with a worker (not watched); guarded by the owner's mutex
  bool close = false;          // set by CloseConnectionAfterResponse
  // Answered and shut down for writing: the watcher discards what the client still sends
  // until it closes or the deadline passes, then closes.
  bool closing = false;
  size_t drained = 0;
};

// Waits until `fd` is ready for `events`: 1 ready, 0 timed out, -1 `stop_fd` (-1: none) became
// readable (the server stops) or poll failed.
int WaitFor(int fd, short events, int stop_fd, int timeout_ms);

// A connection as cpp-httplib's parser sees it: reads come from the bytes the watcher already
// received, then from the socket, each waiting at most read_timeout_ms and not at all once the
// server stops (`stop_fd` readable); writes wait at most write_timeout_ms for the client.
// "*c" and "o" must outlive the stream; it is used by one thread, the connection's worker.
class HttpConnStream final : public httplib::Stream {
 public:
  HttpConnStream(HttpConn* c, int stop_fd, const HttpConnectionOptions& o)
      : c_(c), stop_fd_(stop_fd), o_(o) {}

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  // httplib (built without CPPHTTPLIB_USE_POLL) answers 500 to a socket number of FD_SETSIZE
  // or more: a select() limit this stream, which polls, does not have. It uses the number for
  // nothing else.
  socket_t socket() const override;

 private:
  // Receives more bytes into the buffer: their count, 0 at EOF, -1 on error, timeout or stop.
  ssize_t Fill();

  HttpConn* const c_;
  const int stop_fd_;
  const HttpConnectionOptions& o_;
};

}  // namespace onceflow::receiver
