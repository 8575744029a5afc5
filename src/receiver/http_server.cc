// The HTTP endpoint over cpp-httplib. Handlers run on httplib's worker threads; each POST blocks
// its thread in Ingestor::Ingest until the group commit covering it is durable.
#include "receiver/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <thread>

#include "receiver/body_parser.h"

namespace onceflow::receiver {
namespace {

constexpr const char* kJson = "application/json";

void SetError(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content("{\"error\":\"" + JsonEscape(message) + "\"}\n", kJson);
}

// Parses an optional integer header; false (with *error set) if present and malformed.
template <typename T>
bool ParseHeader(const httplib::Request& req, const char* name, std::optional<T>* out,
                 std::string* error) {
  if (!req.has_header(name)) return true;
  const std::string v = req.get_header_value(name);
  T n{};
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 0) {
    *error = std::string(name) + " must be a non-negative integer, got '" + v.substr(0, 40) + "'";
    return false;
  }
  *out = n;
  return true;
}

}  // namespace

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool TokenEquals(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^
            static_cast<unsigned char>(expected.empty() ? 0 : expected[i % expected.size()]);
  }
  return diff == 0;
}

// httplib listens with a backlog of 5: many clients connecting at once would see dropped SYNs
// and a 1 s retransmission. Listening again on the bound socket raises the backlog.
class Server : public httplib::Server {
 public:
  void RaiseBacklog(int backlog) { ::listen(svr_sock_.load(), backlog); }
};

struct HttpServer::Impl {
  Ingestor* ingestor;
  HttpServerOptions options;
  Server server;
  std::thread thread;
  int port = 0;
  bool stopped = false;
  std::atomic<bool> listen_returned{false};

  bool Authorized(const httplib::Request& req, httplib::Response& res) {
    if (options.token.empty()) return true;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.empty()) {
      res.set_header("WWW-Authenticate", "Bearer");
      SetError(res, 401, "missing 'Authorization: Bearer <token>' header");
    } else if (!auth.starts_with("Bearer ") || !TokenEquals(auth.substr(7), options.token)) {
      res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      SetError(res, 401, "invalid bearer token");
    } else {
      return true;
    }
    ingestor->metrics().OnRejected(RejectReason::kUnauthorized);
    return false;
  }

  void PostRecords(const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req, res)) return;
    IngestRequest in;
    const std::string topic = req.matches[1];
    in.topic = topic;
    const std::string producer = req.get_header_value(kProducerIdHttpHeader);
    in.producer_id = producer;
    std::string error;
    if (!ParseHeader(req, kSequenceHttpHeader, &in.sequence, &error) ||
        !ParseHeader(req, kPartitionHttpHeader, &in.partition, &error)) {
      ingestor->metrics().OnRejected(RejectReason::kBadRequest);
      return SetError(res, 400, error);
    }
    std::vector<std::string> storage;
    if (req.get_header_value("Content-Type").starts_with(kJson)) {
      if (Status s = ParseJsonArray(req.body, &storage, &in.values); !s.ok()) {
        ingestor->metrics().OnRejected(RejectReason::kBadRequest);
        return SetError(res, 400, s.message());
      }
    } else {
      in.values = SplitLines(req.body);
    }
    IngestResponse r = ingestor->Ingest(in);
    if (r.status != 200) {
      if (r.retry_after_s > 0) res.set_header("Retry-After", std::to_string(r.retry_after_s));
      return SetError(res, r.status, r.error);
    }
    const int64_t base = r.base_offset.value();
    res.set_content("{\"topic\":\"" + topic + "\",\"partition\":" + std::to_string(r.partition) +
                        ",\"base_offset\":" + std::to_string(base) +
                        ",\"last_offset\":" + std::to_string(base + r.count - 1) +
                        ",\"count\":" + std::to_string(r.count) +
                        ",\"duplicate\":" + (r.duplicate ? "true" : "false") + "}\n",
                    kJson);
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(Ingestor* ingestor,
                                                     const HttpServerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->ingestor = ingestor;
  impl->options = options;
  Impl* s = impl.get();
  httplib::Server& svr = impl->server;
  const size_t threads = static_cast<size_t>(std::max(1, options.threads));
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_keep_alive_max_count(1u << 30);
  svr.set_read_timeout(30, 0);
  svr.set_tcp_nodelay(true);
  // The body limit: httplib refuses a larger Content-Length with 413 before reading it. JSON
  // escapes may make a body somewhat larger than its records, hence the slack.
  const uint64_t max_body = ingestor->options().max_request_bytes * 2 + 4096;
  svr.set_payload_max_length(max_body);

  svr.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  svr.Get("/metrics", [s](const httplib::Request& req, httplib::Response& res) {
    if (!s->Authorized(req, res)) return;
    res.set_content(s->ingestor->metrics().RenderPrometheus(), "text/plain; version=0.0.4");
  });
  svr.Post(R"(/topics/([^/]+)/records)",
           [s](const httplib::Request& req, httplib::Response& res) { s->PostRecords(req, res); });
  svr.set_error_handler([s, max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own error
    switch (res.status) {
      case 404:
        s->ingestor->metrics().OnRejected(RejectReason::kBadRequest);
        return SetError(res, 404, "no endpoint " + req.method + " " + req.path +
                                      " (POST /topics/{topic}/records, GET /health, "
                                      "GET /metrics)");
      case 413:
        s->ingestor->metrics().OnRejected(RejectReason::kTooLarge);
        return SetError(res, 413, "request body larger than the limit of " +
                                      std::to_string(max_body) + " bytes");
      default:
        s->ingestor->metrics().OnRejected(RejectReason::kBadRequest);
        return SetError(res, res.status, "malformed HTTP request");
    }
  });
  svr.set_exception_handler(
      [s](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = std::string("internal error: ") + e.what();
        } catch (...) {
        }
        s->ingestor->metrics().OnRejected(RejectReason::kInternal);
        SetError(res, 500, what);
      });

  if (options.port == 0) {
    impl->port = svr.bind_to_any_port(options.host);
    if (impl->port < 0) {
      return Err(Status::IoError("cannot bind HTTP to " + options.host + ":0"));
    }
  } else {
    if (!svr.bind_to_port(options.host, options.port)) {
      return Err(Status::IoError("cannot bind HTTP to " + options.host + ":" +
                                 std::to_string(options.port) +
                                 " (address in use, or not a local address?)"));
    }
    impl->port = options.port;
  }
  impl->server.RaiseBacklog(1024);
  impl->thread = std::thread([s] {
    s->server.listen_after_bind();
    s->listen_returned = true;
  });
  // stop() is a no-op until the loop runs: wait for it, so that Stop never misses it.
  while (!svr.is_running() && !s->listen_returned) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  // Closes the listening socket; the listen loop then shuts its thread pool down, which waits
  // for the requests in flight (and their group commits) to be answered.
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int HttpServer::port() const { return impl_->port; }

}  // namespace onceflow::receiver
