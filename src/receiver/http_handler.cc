// HttpHandler: cpp-httplib's parser and router with the receiver's routes, admission checks and
// body parsing. Each POST blocks its thread in the ingest function until the group commit
// covering it is durable.
#include "receiver/http_handler.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <regex>
#include <string>
#include <utility>

#include "receiver/body_parser.h"
#include "receiver/http_connections.h"
#include "util/json_escape.h"

namespace onceflow::receiver {
namespace {

constexpr const char* kJson = "application/json";

void SetError(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  std::string body = "{\"error\":";
  AppendJsonString(&body, message, InvalidUtf8::kReplace);
  body += "}\n";
  res.set_content(body, kJson);
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

bool TokenEquals(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^
            static_cast<unsigned char>(expected.empty() ? 0 : expected[i % expected.size()]);
  }
  return diff == 0;
}

// Exposes httplib's parser and router for one request on a stream of ours: the connections
// (accepting, waiting, threads) are HttpConnections', not httplib's listen loop.
class Server : public httplib::Server {
 public:
  bool ProcessOne(httplib::Stream& stream) {
    bool closed = false;
    const bool ok = process_request(stream, /*close_connection=*/false, closed, nullptr);
    return ok && !closed;
  }
};

struct HttpHandler::Impl {
  IngestFunction ingest;
  ReceiverMetrics* metrics;
  HttpHandlerOptions options;
  uint64_t max_body = 0;
  Server server;
  // Set by SetStopping: a body whose read fails was cut off by the shutdown.
  std::atomic<bool> stopping{false};

  Impl(IngestFunction f, ReceiverMetrics* m, const HttpHandlerOptions& o)
      : ingest(std::move(f)), metrics(m), options(o) {}

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
    metrics->OnRejected(RejectReason::kUnauthorized);
    return false;
  }

  // An answer given instead of reading the request's body: the connection closes after it, so
  // that the unread body is never taken for the next request.
  void Refuse(httplib::Response& res, int status, std::string_view message, RejectReason reason) {
    metrics->OnRejected(reason);
    SetError(res, status, message);
    res.set_header("Connection", "close");
    CloseConnectionAfterResponse();
  }

  // Checks what the head alone can tell, before a byte of the body is read: the endpoint, the
  // token, the Content-Length (present, a number, within the limit). False: `res` holds the
  // answer and the connection closes after it.
  bool Admit(const httplib::Request& req, httplib::Response& res) {
    // Some clients send "Content-Length: 0" with every GET: that is no body.
    const bool has_body =
        req.has_header("Transfer-Encoding") ||
        (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
    if (req.method == "GET" || req.method == "HEAD") {
      if (!has_body) return true;
      Refuse(res, 400, "a " + req.method + " request has no body", RejectReason::kBadRequest);
      return false;
    }
    static const std::regex kRecords(R"(/topics/([^/]+)/records)");
    if (req.method != "POST" || !std::regex_match(req.path, kRecords)) {
      Refuse(res, 404,
             "no endpoint " + req.method + " " + req.path +
                 " (POST /topics/{topic}/records, GET /health, GET /metrics)",
             RejectReason::kBadRequest);
      return false;
    }
    if (!Authorized(req, res)) {
      res.set_header("Connection", "close");
      CloseConnectionAfterResponse();
      return false;
    }
    if (req.get_header_value("Content-Type").starts_with("multipart/form-data")) {
      Refuse(res, 415,
             "a multipart form is not accepted: send the records as the body (text/plain "
             "lines or application/json)",
             RejectReason::kBadRequest);
      return false;
    }
    if (req.has_header("Transfer-Encoding")) {
      Refuse(res, 411,
             "Transfer-Encoding is not accepted; send the body with a Content-Length header",
             RejectReason::kBadRequest);
      return false;
    }
    const size_t lengths = req.get_header_value_count("Content-Length");
    if (lengths == 0) {
      Refuse(res, 411, "a POST needs a Content-Length header", RejectReason::kBadRequest);
      return false;
    }
    uint64_t length = 0;
    for (size_t i = 0; i < lengths; ++i) {
      const std::string v = req.get_header_value("Content-Length", i);
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || v[0] == '-' || v[0] == '+' || ec != std::errc() ||
          end != v.data() + v.size() || (i > 0 && n != length)) {
        Refuse(res, 400,
               "Content-Length must be one non-negative integer, got '" + v.substr(0, 40) + "'",
               RejectReason::kBadRequest);
        return false;
      }
      length = n;
    }
    if (length > max_body) {
      Refuse(res, 413,
             "request body of " + std::to_string(length) + " bytes is larger than the limit of " +
                 std::to_string(max_body) + " bytes",
             RejectReason::kTooLarge);
      return false;
    }
    return true;
  }

  // Reads the body itself (a content reader): httplib's own body reading would refuse a body
  // over 8 KiB with Content-Type application/x-www-form-urlencoded — curl's default for
  // --data-binary — as 413 "too large", and parse it as a form.
  void PostRecords(const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader) {
    if (!Authorized(req, res)) return;
    std::string body;
    const bool complete = reader([&](const char* data, size_t n) {
      body.append(data, n);
      return body.size() <= max_body;
    });
    if (!complete) {
      res.set_header("Connection", "close");
      CloseConnectionAfterResponse();
      if (stopping.load()) {
        // The body's read was cut off by the shutdown: nothing of it was stored.
        metrics->OnRejected(RejectReason::kOverloaded);
        res.set_header("Retry-After", "1");
        return SetError(res, 503,
                        "the receiver is stopping; nothing of this request was "
                        "stored, send it again");
      }
      metrics->OnRejected(RejectReason::kBadRequest);
      return SetError(res, 400,
                      "the body ended before its Content-Length (or its read timed "
                      "out); nothing of it was stored");
    }
    IngestRequest in;
    const std::string topic = req.matches[1];
    in.topic = topic;
    const std::string producer = req.get_header_value(kProducerIdHttpHeader);
    in.producer_id = producer;
    std::string error;
    if (!ParseHeader(req, kSequenceHttpHeader, &in.sequence, &error) ||
        !ParseHeader(req, kPartitionHttpHeader, &in.partition, &error)) {
      metrics->OnRejected(RejectReason::kBadRequest);
      return SetError(res, 400, error);
    }
    std::vector<std::string> storage;
    if (req.get_header_value("Content-Type").starts_with(kJson)) {
      if (Status s = ParseJsonArray(body, &storage, &in.values); !s.ok()) {
        metrics->OnRejected(RejectReason::kBadRequest);
        return SetError(res, 400, s.message());
      }
    } else {
      in.values = SplitLines(body);
    }
    IngestResponse r = ingest(in);
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

HttpHandler::HttpHandler(IngestFunction ingest, ReceiverMetrics* metrics,
                         const HttpHandlerOptions& options)
    : impl_(std::make_unique<Impl>(std::move(ingest), metrics, options)) {
  Impl* s = impl_.get();
  httplib::Server& svr = impl_->server;
  // The body limit, checked by Admit before the body is read (and by httplib as it reads).
  // JSON escapes may make a body somewhat larger than its records, hence the slack.
  impl_->max_body = options.max_request_bytes * 2 + 4096;
  svr.set_payload_max_length(impl_->max_body);
  // Only for the Keep-Alive header of the answers: HttpConnections enforces the idle timeout.
  svr.set_keep_alive_timeout(std::max<int64_t>(1, options.idle_timeout_ms / 1000));
  svr.set_keep_alive_max_count(1000);

  svr.set_pre_routing_handler([s](const httplib::Request& req, httplib::Response& res) {
    return s->Admit(req, res) ? httplib::Server::HandlerResponse::Unhandled
                              : httplib::Server::HandlerResponse::Handled;
  });
  // "Expect: 100-continue" (curl's large uploads): the refusal comes instead of the 100, and
  // the client never sends the body.
  svr.set_expect_100_continue_handler([s](const httplib::Request& req, httplib::Response& res) {
    return s->Admit(req, res) ? 100 : res.status;
  });
  svr.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  svr.Get("/metrics", [s](const httplib::Request& req, httplib::Response& res) {
    if (!s->Authorized(req, res)) return;
    res.set_content(s->metrics->RenderPrometheus(), "text/plain; version=0.0.4");
  });
  svr.Post(R"(/topics/([^/]+)/records)",
           [s](const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader) { s->PostRecords(req, res, reader); });
  svr.set_error_handler([s](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own error
    if (s->stopping.load() && res.status == 400) {
      // The body's read was cut off by the shutdown: nothing of it was stored.
      s->metrics->OnRejected(RejectReason::kOverloaded);
      res.set_header("Retry-After", "1");
      return SetError(res, 503,
                      "the receiver is stopping; nothing of this request was stored, "
                      "send it again");
    }
    switch (res.status) {
      case 404:
        s->metrics->OnRejected(RejectReason::kBadRequest);
        return SetError(res, 404,
                        "no endpoint " + req.method + " " + req.path +
                            " (POST /topics/{topic}/records, GET /health, "
                            "GET /metrics)");
      case 413:
        s->metrics->OnRejected(RejectReason::kTooLarge);
        return SetError(
            res, 413,
            "request body larger than the limit of " + std::to_string(s->max_body) + " bytes");
      default:
        s->metrics->OnRejected(RejectReason::kBadRequest);
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
        s->metrics->OnRejected(RejectReason::kInternal);
        SetError(res, 500, what);
      });
}

HttpHandler::~HttpHandler() = default;

bool HttpHandler::ProcessOne(httplib::Stream& stream) { return impl_->server.ProcessOne(stream); }

void HttpHandler::SetStopping() { impl_->stopping.store(true); }

}  // namespace onceflow::receiver
