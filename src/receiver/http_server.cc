// The HTTP endpoint: an HttpHandler whose ingest function is the Ingestor's, served on
// HttpConnections (sockets, threads, timeouts).
#include "receiver/http_server.h"

#include <algorithm>

#include "receiver/http_connections.h"

namespace onceflow::receiver {

struct HttpServer::Impl {
  std::unique_ptr<HttpHandler> handler;
  std::unique_ptr<HttpConnections> connections;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(Ingestor* ingestor,
                                                      const HttpServerOptions& options) {
  auto impl = std::make_unique<Impl>();
  HttpHandlerOptions h;
  h.token = options.token;
  h.max_request_bytes = ingestor->options().max_request_bytes;
  h.idle_timeout_ms = options.idle_timeout_ms;
  impl->handler = std::make_unique<HttpHandler>(
      [ingestor](const IngestRequest& in) { return ingestor->Ingest(in); }, &ingestor->metrics(),
      h);
  HttpHandler* handler = impl->handler.get();

  HttpConnectionOptions c;
  c.workers = std::max(1, options.threads);
  c.max_connections = std::max(1, options.max_connections);
  c.idle_timeout_ms = options.idle_timeout_ms;
  c.read_timeout_ms = options.read_timeout_ms;
  auto connections = HttpConnections::Start(
      options.host, options.port, c,
      [handler](httplib::Stream& stream) { return handler->ProcessOne(stream); },
      [ingestor] { ingestor->metrics().OnRejected(RejectReason::kOverloaded); });
  if (!connections.has_value()) {
    return Err(Status::IoError("cannot serve HTTP on " + options.host + ":" +
                               std::to_string(options.port) + ": " +
                               connections.error().message()));
  }
  impl->connections = std::move(*connections);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (!impl_ || !impl_->connections) return;
  // Before the connections stop: the handlers read it when a body's read is cut off.
  impl_->handler->SetStopping();
  impl_->connections->Stop();
}

int HttpServer::port() const { return impl_->connections->port(); }

}  // namespace onceflow::receiver
