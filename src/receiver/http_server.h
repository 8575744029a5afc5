// HttpServer: the receiver's HTTP endpoint: its request handling (HttpHandler: POST
// /topics/{topic}/records, GET /health and GET /metrics, answering a POST only once its records
// are durable) served on its connections (HttpConnections).
#pragma once

#include <memory>
#include <string>

#include "onceflow/status.h"
#include "receiver/http_handler.h"
#include "receiver/ingest.h"

namespace onceflow::receiver {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see port())
  // Required as "Authorization: Bearer <token>" on POST and /metrics when not empty.
  std::string token;
  // Requests with a body processed at once, one thread each. A connection holds a thread only
  // while a request whose head has fully arrived is processed: idle and slow clients hold none.
  int threads = 128;
  // Connections open at once; a further one is answered 503 (Retry-After) and closed.
  int max_connections = 1024;
  // A keep-alive connection with no request is closed after this long.
  int64_t idle_timeout_ms = 30000;
  // A body's read waits this long at most for the next bytes (any read stops at Stop).
  int64_t read_timeout_ms = 30000;
};

// Lifecycle: Start binds and serves on its own threads (HttpConnections); Stop (or the
// destructor) stops accepting, closes the connections without a whole request, cuts off the
// bodies still arriving (answered 503, nothing stored), lets the requests in flight finish
// (their group commits complete and are answered) and joins the threads: it returns within
// seconds however slow a client is.
//
// Every limit that the request head can tell (endpoint, token, Content-Length) is checked
// before a byte of the body is read; such a refusal closes the connection after the answer.
// Thread-safety: Stop may be called from any thread, once.
class HttpServer {
 public:
  // "*ingestor" must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(Ingestor* ingestor,
                                                   const HttpServerOptions& options);
  ~HttpServer();

  void Stop();
  int port() const;

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace onceflow::receiver
