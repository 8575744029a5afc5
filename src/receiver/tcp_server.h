// TcpServer: the receiver's framed TCP endpoint for high-rate clients (framing in
// tcp_format.h and docs/formats/receiver_tcp.md): one acknowledgement per request frame, sent
// in frame order once the frame's records are durable.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "onceflow/status.h"
#include "receiver/ingest.h"

namespace onceflow::receiver {

struct TcpServerOptions {
  std::string host = "127.0.0.1";
  int port = 9090;            // 0: any free port (see port())
  std::string token;          // required in every frame when not empty
  int max_connections = 256;  // beyond: the connection gets a 503 ack and is closed
  // A connection must start its first frame within this long, or it is closed (with a 408
  // ack): silent connections cannot keep the slots of max_connections from other clients.
  int64_t first_frame_timeout_ms = 10000;
  // Once a frame has started, each read of it waits at most this long: a client trickling a
  // frame is cut off (no ack, nothing stored). Between frames a connection may stay idle.
  int64_t read_timeout_ms = 30000;
  // An acknowledgement's write waits at most this long for a client that does not read.
  int64_t write_timeout_ms = 10000;
};

// Lifecycle: Start listens and accepts on its own thread, one thread per connection; Stop
// stops accepting, stops reading new frames, lets the frames being ingested finish and be
// acknowledged, then closes every connection.
//
// A frame whose prefix is wrong (magic, length over the limit, CRC) is answered with an error
// and the connection closed: the stream can no longer be trusted to be in step. A well-framed
// request that is refused (unknown topic, sequence gap, bad token...) gets its error ack and
// the connection goes on.
class TcpServer {
 public:
  // "*ingestor" must outlive the server.
  static Result<std::unique_ptr<TcpServer>> Start(Ingestor* ingestor,
                                                  const TcpServerOptions& options);
  ~TcpServer();

  void Stop();
  int port() const { return port_; }

  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

 private:
  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  TcpServer(Ingestor* ingestor, TcpServerOptions options)
      : ingestor_(ingestor), options_(std::move(options)) {}
  void AcceptLoop();
  void Serve(Connection* c);
  void ReapLocked(bool all);

  Ingestor* const ingestor_;
  const TcpServerOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_;  // guarded by mu_
};

}  // namespace onceflow::receiver
