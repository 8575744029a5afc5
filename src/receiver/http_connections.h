// HttpConnections: the receiver's HTTP connection model. One thread accepts and watches every
// connection (epoll); a connection takes a worker thread only once a whole request head has
// arrived, and gives it back with the response. Idle, silent or slowly-trickling clients hold
// a file descriptor, never a thread, so they cannot starve /health or other clients.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "onceflow/status.h"

namespace onceflow::receiver {

struct HttpConnectionOptions {
  // Requests with a body (POST) served at once, one worker thread each.
  int workers = 128;
  // Requests without one (GET /health, /metrics): their own threads, so that a full POST pool
  // never delays a health check.
  int control_workers = 2;
  // Connections open at once; a further one is answered 503 and closed.
  int max_connections = 1024;
  // A keep-alive connection with no request is closed after this long.
  int64_t idle_timeout_ms = 30000;
  // A request head (request line and headers) must arrive within this long of its first byte.
  int64_t head_timeout_ms = 10000;
  // A body read waits at most this long for the next bytes.
  int64_t read_timeout_ms = 30000;
  // A response write waits at most this long for the client to take the bytes.
  int64_t write_timeout_ms = 10000;
  // A larger request head is answered 431 and the connection closed.
  size_t max_head_bytes = 64 << 10;
};

// Serves one request read from `stream` (its head is already buffered in it) and writes the
// response; returns whether the connection may carry another request.
using HttpRequestProcessor = std::function<bool(httplib::Stream& stream)>;

// Lifecycle: Start listens and serves on its own threads; Stop stops accepting, closes every
// connection that has no complete request, cuts off bodies still arriving (their reads fail:
// such a request is never acknowledged), lets the requests being processed finish and answer,
// and joins every thread. Thread-safety: Stop from any thread, once; stopping() from any.
class HttpConnections {
 public:
  // `on_overload` is called for each connection refused over max_connections.
  static Result<std::unique_ptr<HttpConnections>> Start(const std::string& host, int port,
                                                        const HttpConnectionOptions& options,
                                                        HttpRequestProcessor processor,
                                                        std::function<void()> on_overload);
  ~HttpConnections();

  void Stop();
  bool stopping() const;
  int port() const;

  HttpConnections(const HttpConnections&) = delete;
  HttpConnections& operator=(const HttpConnections&) = delete;

 private:
  struct Impl;
  explicit HttpConnections(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Called while a request is processed (on its worker thread): the connection closes after the
// response instead of waiting for another request. For an answer given before the body was
// read (a refused token or Content-Length): the unread body must not be taken for a request.
void CloseConnectionAfterResponse();

}  // namespace onceflow::receiver
