// UiServer: the web UI's HTTP server — the embedded pages, the JSON API under /api/v1 and the
// Prometheus /metrics — on the receiver's connection model (receiver::HttpConnections), for
// `onceflow ui` and `onceflow run --ui`.
#pragma once

#include <memory>
#include <string>

#include "onceflow/status.h"
#include "ui/ui_api.h"

namespace onceflow::ui {

struct UiServerOptions {
  std::string host = "127.0.0.1";
  int port = 4040;  // 0: any free port (see port())
  // Required as "Authorization: Bearer <token>" on /api/ and /metrics when not empty (the pages
  // themselves hold no data and are served to anyone).
  std::string token;
  // GET requests answered at once (the rest wait for a thread).
  int threads = 4;
};

// Lifecycle: Start binds (a port in use is an io_error naming the address) and serves on its
// own threads; Stop (or the destructor) stops accepting, lets the requests in flight finish
// and joins the threads. Only GET and HEAD are served (405 otherwise).
// Thread-safety: Stop from any thread, once.
class UiServer {
 public:
  // "*api" must outlive the server.
  static Result<std::unique_ptr<UiServer>> Start(const UiApi* api, const UiServerOptions& options);
  ~UiServer();

  void Stop();
  int port() const;

  UiServer(const UiServer&) = delete;
  UiServer& operator=(const UiServer&) = delete;

 private:
  struct Impl;
  explicit UiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace onceflow::ui
