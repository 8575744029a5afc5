// HttpServer: the receiver's HTTP endpoint (cpp-httplib): POST /topics/{topic}/records,
// GET /health and GET /metrics, answering a POST only once its records are durable.
#pragma once

#include <memory>
#include <string>

#include "onceflow/status.h"
#include "receiver/ingest.h"

namespace onceflow::receiver {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see port())
  // Required as "Authorization: Bearer <token>" on POST and /metrics when not empty.
  std::string token;
  // Connections served at once (one thread each, kept alive between requests). Further
  // connections wait in the accept queue.
  int threads = 128;
};

// Lifecycle: Start binds and serves on its own threads; Stop (or the destructor) stops
// accepting, lets the requests in flight finish (their group commits complete and are
// answered) and joins the threads.
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

// The HTTP header names of the protocol.
inline constexpr const char* kProducerIdHttpHeader = "Onceflow-Producer-Id";
inline constexpr const char* kSequenceHttpHeader = "Onceflow-Sequence";
inline constexpr const char* kPartitionHttpHeader = "Onceflow-Partition";

// Escapes `s` for a JSON string literal (without the quotes).
std::string JsonEscape(std::string_view s);
// Whether `given` equals `expected`, in time independent of where they differ.
bool TokenEquals(std::string_view given, std::string_view expected);

}  // namespace onceflow::receiver
