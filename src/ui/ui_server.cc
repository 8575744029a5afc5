// UiServer: cpp-httplib's parser and router with the UI's routes, served on HttpConnections.
#include "ui/ui_server.h"

#include <httplib.h>

#include "receiver/http_connections.h"
#include "receiver/http_handler.h"
#include "ui/static_assets.h"

namespace onceflow::ui {
namespace {

// Exposes httplib's parser and router for one request on a stream of HttpConnections.
class Router : public httplib::Server {
 public:
  bool ProcessOne(httplib::Stream& stream) {
    bool closed = false;
    const bool ok = process_request(stream, /*close_connection=*/false, closed, nullptr);
    return ok && !closed;
  }
};

void Answer(httplib::Response& res, const ApiAnswer& a) {
  res.status = a.status;
  res.set_content(a.body, a.content_type);
  res.set_header("Cache-Control", "no-store");
}

}  // namespace

struct UiServer::Impl {
  const UiApi* api = nullptr;
  UiServerOptions options;
  Router router;
  std::unique_ptr<receiver::HttpConnections> connections;

  // The bearer token check of the data endpoints; false with `res` holding the 401.
  bool Authorized(const httplib::Request& req, httplib::Response& res) const {
    if (options.token.empty()) return true;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.starts_with("Bearer ") &&
        receiver::TokenEquals(std::string_view(auth).substr(7), options.token)) {
      return true;
    }
    res.set_header("WWW-Authenticate", auth.empty() ? "Bearer" : "Bearer error=\"invalid_token\"");
    Answer(res, ErrorAnswer(401, auth.empty() ? "missing 'Authorization: Bearer <token>' header"
                                              : "invalid bearer token"));
    return false;
  }

  void Routes() {
    router.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "GET" || req.method == "HEAD") {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      Answer(res, ErrorAnswer(405, "the UI answers GET only, not " + req.method));
      res.set_header("Allow", "GET, HEAD");
      res.set_header("Connection", "close");
      receiver::CloseConnectionAfterResponse();
      return httplib::Server::HandlerResponse::Handled;
    });
    router.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    router.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      if (!Authorized(req, res)) return;
      res.set_content(api->Metrics(), "text/plain; version=0.0.4; charset=utf-8");
      res.set_header("Cache-Control", "no-store");
    });
    router.Get(R"(/api/v1(/.*)?)", [this](const httplib::Request& req, httplib::Response& res) {
      if (!Authorized(req, res)) return;
      std::map<std::string, std::string> query;
      for (const auto& [k, v] : req.params) query.emplace(k, v);
      Answer(res, api->Get(req.matches[1].str(), query));
    });
    router.Get(R"(/assets/.*)", [](const httplib::Request& req, httplib::Response& res) {
      auto asset = StaticAsset(req.path);
      if (!asset) return Answer(res, ErrorAnswer(404, "no asset " + req.path));
      res.set_content(std::string(asset->first), std::string(asset->second));
      res.set_header("Cache-Control", "max-age=300");
    });
    // The pages: one single-page index.html for every page path (the script routes).
    const auto index = [](const httplib::Request&, httplib::Response& res) {
      auto asset = StaticAsset("/index.html");
      if (!asset) return Answer(res, ErrorAnswer(404, "no pages built into this onceflow"));
      res.set_content(std::string(asset->first), std::string(asset->second));
      res.set_header("Cache-Control", "no-cache");
    };
    router.Get("/", index);
    router.Get("/index.html", index);
    router.Get(R"(/pipeline/.*)", index);
    router.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404) {
        return Answer(res, ErrorAnswer(404, "no page or endpoint " + req.path +
                                                " (pages at /, /pipeline/NAME; API under "
                                                "/api/v1, docs/api.md; /metrics)"));
      }
      Answer(res, ErrorAnswer(res.status, "malformed HTTP request"));
    });
    router.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "internal error";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what += std::string(": ") + e.what();
          } catch (...) {
          }
          Answer(res, ErrorAnswer(500, what));
        });
  }
};

UiServer::UiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<UiServer>> UiServer::Start(const UiApi* api,
                                                  const UiServerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->api = api;
  impl->options = options;
  impl->Routes();
  receiver::HttpConnectionOptions c;
  c.workers = 1;  // requests with a body: none is served (405)
  c.control_workers = std::max(1, options.threads);
  c.max_connections = 256;
  Impl* raw = impl.get();
  auto connections = receiver::HttpConnections::Start(
      options.host, options.port, c,
      [raw](httplib::Stream& stream) { return raw->router.ProcessOne(stream); }, [] {});
  if (!connections.has_value()) {
    return Err(Status::IoError("cannot serve the UI on " + options.host + ":" +
                               std::to_string(options.port) + ": " +
                               connections.error().message()));
  }
  impl->connections = std::move(*connections);
  return std::unique_ptr<UiServer>(new UiServer(std::move(impl)));
}

UiServer::~UiServer() { Stop(); }

void UiServer::Stop() {
  if (impl_ && impl_->connections) impl_->connections->Stop();
}

int UiServer::port() const { return impl_->connections->port(); }

}  // namespace onceflow::ui
