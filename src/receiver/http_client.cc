// The reference HTTP producer: sequence numbers, retries, backoff.
#include "receiver/http_client.h"

#include <httplib.h>
#include <simdjson.h>

#include <algorithm>
#include <random>
#include <thread>

#include "receiver/http_server.h"
#include "util/check.h"
#include "util/json_escape.h"

namespace onceflow::receiver {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{10};
constexpr std::chrono::milliseconds kMaxBackoff{1000};

// The request body: newline-separated, or a JSON array of strings if a value holds a newline
// (a line format could not carry it).
std::pair<std::string, const char*> EncodeBody(std::span<const std::string_view> values) {
  const bool json = std::any_of(values.begin(), values.end(), [](std::string_view v) {
    return v.find('\n') != std::string_view::npos || v.ends_with('\r');
  });
  std::string body;
  if (!json) {
    for (std::string_view v : values) {
      body += v;
      body += '\n';
    }
    return {std::move(body), "text/plain"};
  }
  body = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) body += ',';
    // Kept, not replaced: the receiver rejects bytes that are not UTF-8 rather than store an
    // altered value.
    AppendJsonString(&body, values[i], InvalidUtf8::kKeep);
  }
  body += "]";
  return {std::move(body), "application/json"};
}

std::string ErrorMessage(const std::string& body) {
  simdjson::dom::parser parser;
  std::string_view message;
  simdjson::dom::element doc;
  if (!parser.parse(body).get(doc) && !doc["error"].get_string().get(message)) {
    return std::string(message);
  }
  return body.substr(0, 200);
}

}  // namespace

std::string RandomProducerId() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "p-%08x%08x%08x", rd(), rd(), rd());
  return buf;
}

HttpProducer::HttpProducer(HttpProducerOptions options)
    : options_(std::move(options)), next_sequence_(options_.first_sequence) {}

HttpProducer::~HttpProducer() = default;

Result<std::unique_ptr<HttpProducer>> HttpProducer::Create(const HttpProducerOptions& options) {
  if (!options.url.starts_with("http://")) {
    return Err(Status::InvalidArgument("receiver URL '" + options.url +
                                       "' must look like http://HOST:PORT"));
  }
  std::unique_ptr<HttpProducer> p(new HttpProducer(options));
  if (p->options_.producer_id.empty()) p->options_.producer_id = RandomProducerId();
  ONCEFLOW_RETURN_IF_ERROR(ValidateProducerId(p->options_.producer_id));
  p->client_ = std::make_unique<httplib::Client>(options.url);
  if (!p->client_->is_valid()) {
    return Err(Status::InvalidArgument("bad receiver URL '" + options.url + "'"));
  }
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(options.timeout);
  p->client_->set_connection_timeout(std::max<int64_t>(1, secs.count()), 0);
  p->client_->set_read_timeout(std::max<int64_t>(1, secs.count()), 0);
  p->client_->set_write_timeout(std::max<int64_t>(1, secs.count()), 0);
  p->client_->set_keep_alive(true);
  p->client_->set_tcp_nodelay(true);  // headers and body go out as two writes
  if (!options.token.empty()) p->client_->set_bearer_token_auth(options.token);
  p->path_ = "/topics/" + options.topic + "/records";
  return p;
}

Result<HttpAck> HttpProducer::Send(std::span<const std::string_view> values) {
  // An empty request would take a sequence number that no record carries.
  ONCEFLOW_CHECK(!values.empty());
  auto [body, content_type] = EncodeBody(values);
  httplib::Headers headers = {
      {kProducerIdHttpHeader, options_.producer_id},
      {kSequenceHttpHeader, std::to_string(next_sequence_)},
  };
  std::chrono::milliseconds backoff = kFirstBackoff;
  std::string last_error;
  for (int attempt = 1; options_.max_attempts < 0 || attempt <= options_.max_attempts; ++attempt) {
    auto res = client_->Post(path_.c_str(), headers, body, content_type);
    std::chrono::milliseconds wait = backoff;
    if (!res) {
      last_error = "request failed: " + httplib::to_string(res.error());
    } else if (res->status == 200) {
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      HttpAck ack;
      int64_t partition = 0, base = 0, count = 0;
      bool duplicate = false;
      if (parser.parse(res->body).get(doc) || doc["partition"].get_int64().get(partition) ||
          doc["base_offset"].get_int64().get(base) || doc["count"].get_int64().get(count) ||
          doc["duplicate"].get_bool().get(duplicate)) {
        return Err(Status::Corruption("unreadable acknowledgement: " + res->body.substr(0, 200)));
      }
      ack.partition = static_cast<int32_t>(partition);
      ack.base_offset = Offset(base);
      ack.count = static_cast<uint32_t>(count);
      ack.duplicate = duplicate;
      ack.attempts = attempt;
      next_sequence_ += static_cast<int64_t>(values.size());
      return ack;
    } else if (res->status >= 500) {
      last_error = "HTTP " + std::to_string(res->status) + ": " + ErrorMessage(res->body);
      if (res->status == 503 && res->has_header("Retry-After")) {
        wait = std::chrono::seconds(
            std::clamp(std::atoi(res->get_header_value("Retry-After").c_str()), 0, 60));
      }
    } else {
      return Err(Status::InvalidArgument("the receiver refused the request (HTTP " +
                                         std::to_string(res->status) +
                                         "): " + ErrorMessage(res->body)));
    }
    if (options_.give_up && options_.give_up()) {
      return Err(Status::Aborted("given up after " + std::to_string(attempt) +
                                 " attempts; last: " + last_error));
    }
    std::this_thread::sleep_for(wait);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  return Err(Status::IoError("no acknowledgement after " + std::to_string(options_.max_attempts) +
                             " attempts; last: " + last_error));
}

}  // namespace onceflow::receiver
