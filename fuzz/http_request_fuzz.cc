// libFuzzer target for the HTTP receiver's request handling (src/receiver/http_handler.h):
// cpp-httplib's request parser (the library as linked, not instrumented), the checks of the
// request head, the body into records (text lines or a JSON array, simdjson) and the answers —
// over bytes in memory instead of a socket, with an ingest function that records what it is
// given. Built and run by scripts/fuzz.sh.
//
// Input: one mode byte, then the rest. Bits 0-1 of the mode: the size of the reads the stream
// serves (1, 7, 512 or 64 KiB bytes at most), so that requests split anywhere are parsed.
// Bit 2: the handler requires a token ("s3cret"). Bit 3: the ingest function answers 503
// instead of 200.
//   mode bit 4 clear: the rest is what a client sent on one connection: requests are served
//     one after the other until the handler (or an answer's Connection: close) ends the
//     connection. Every answer must be a well-formed HTTP response whose Content-Length is its
//     body; every call of the ingest function must get an answer that is its response (200
//     with the offsets, or its error), and no other answer may say records were stored.
//   mode bit 5 set (bit 4 clear): the rest is a request body, parsed directly (faster than
//     through the handler): SplitLines' records put back together are the body (less the
//     "\r" before each newline); ParseJsonArray's records point into its storage, and the
//     records written back as a JSON array of strings parse back to the same records.
//   mode bit 4 set: the rest drives a generator of valid requests (topic, producer id,
//     sequence, partition, records as text lines or a JSON array, the right or a wrong
//     token), sent pipelined on one connection: the ingest function must receive exactly each
//     request's records and headers, in order, once; a wrong token stores nothing.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "receiver/body_parser.h"
#include "receiver/http_handler.h"
#include "util/json_escape.h"

namespace onceflow::receiver {
namespace {

constexpr const char* kToken = "s3cret";
constexpr uint64_t kMaxRequestBytes = 1 << 16;

// A connection in memory: reads serve `in` in pieces of at most `chunk` bytes, writes append
// to `out`.
class MemoryStream final : public httplib::Stream {
 public:
  MemoryStream(std::string_view in, size_t chunk) : in_(in), chunk_(chunk) {}

  bool is_readable() const override { return pos_ < in_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min({size, chunk_, in_.size() - pos_});
    std::copy_n(in_.data() + pos_, n, ptr);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return 0; }

  bool at_end() const { return pos_ == in_.size(); }
  const std::string& out() const { return out_; }

 private:
  std::string_view in_;
  size_t chunk_;
  size_t pos_ = 0;
  std::string out_;
};

struct Call {
  std::string topic;
  std::string producer_id;
  std::optional<int64_t> sequence;
  std::optional<int32_t> partition;
  std::vector<std::string> values;
};

// One response off the written bytes: status, headers (names lower-cased) and body.
struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Parses what one request's handling wrote: interim (1xx) responses, then at most one final
// response; every byte must belong to one. A body is exactly Content-Length bytes, or absent
// (the answer to a HEAD request).
std::vector<Response> ParseResponses(std::string_view out) {
  std::vector<Response> responses;
  while (!out.empty()) {
    FUZZ_CHECK(responses.empty() || responses.back().status < 200);
    const size_t head_end = out.find("\r\n\r\n");
    FUZZ_CHECK(head_end != std::string_view::npos);
    std::string_view head = out.substr(0, head_end + 2);
    out.remove_prefix(head_end + 4);
    Response r;
    const size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    FUZZ_CHECK(status_line.starts_with("HTTP/1.1 ") && status_line.size() >= 12);
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    FUZZ_CHECK(r.status >= 100 && r.status <= 599);
    head.remove_prefix(line_end + 2);
    while (!head.empty()) {
      const size_t end = head.find("\r\n");
      const std::string_view line = head.substr(0, end);
      head.remove_prefix(end + 2);
      const size_t colon = line.find(": ");
      FUZZ_CHECK(colon != std::string_view::npos);
      r.headers.emplace_back(Lower(std::string(line.substr(0, colon))),
                             std::string(line.substr(colon + 2)));
    }
    const std::string length = r.Header("content-length");
    const size_t n = length.empty() ? 0 : std::stoul(length);
    if (r.status >= 200 && !out.empty()) {
      FUZZ_CHECK(out.size() == n);
      r.body = std::string(out);
      out = {};
    }
    responses.push_back(std::move(r));
  }
  return responses;
}

struct Connection {
  std::vector<Call> calls;
  std::vector<Response> responses;
  size_t stored = 0;  // responses saying records were stored ("base_offset")
};

// The calls of the current run (the handlers are built once: their routes' regular
// expressions take milliseconds to compile).
std::vector<Call>* g_calls = nullptr;

IngestResponse Record(const IngestRequest& r, bool refuse) {
  Call call{std::string(r.topic), std::string(r.producer_id), r.sequence, r.partition, {}};
  for (std::string_view v : r.values) call.values.emplace_back(v);
  g_calls->push_back(std::move(call));
  IngestResponse response;
  if (refuse) {
    response.status = 503;
    response.retry_after_s = 1;
    response.error = "over the in-flight limit";
  } else {
    response.partition = 0;
    response.base_offset = Offset(1000);
    response.count = static_cast<uint32_t>(r.values.size());
  }
  return response;
}

// The handler for mode bits 2 (token) and 3 (the ingest function refuses).
HttpHandler& HandlerFor(uint8_t mode) {
  static ReceiverMetrics metrics;
  static std::unique_ptr<HttpHandler> handlers[4];
  const int i = (mode >> 2) & 3;
  if (!handlers[i]) {
    HttpHandlerOptions options;
    options.max_request_bytes = kMaxRequestBytes;
    if (i & 1) options.token = kToken;
    const bool refuse = (i & 2) != 0;
    handlers[i] = std::make_unique<HttpHandler>(
        [refuse](const IngestRequest& r) { return Record(r, refuse); }, &metrics, options);
  }
  return *handlers[i];
}

// Serves `in` as one connection and returns what the ingest function was given and answered.
Connection Serve(std::string_view in, uint8_t mode) {
  static constexpr size_t kChunks[] = {1, 7, 512, 1 << 16};
  Connection c;
  g_calls = &c.calls;
  const bool refuse = (mode & 8) != 0;
  HttpHandler& handler = HandlerFor(mode);
  MemoryStream stream(in, kChunks[mode & 3]);
  while (!stream.at_end()) {
    const size_t before = c.calls.size();
    const size_t written = stream.out().size();
    const bool more = handler.ProcessOne(stream);
    std::vector<Response> all = ParseResponses(std::string_view(stream.out()).substr(written));
    // An ingest call only inside the request it answers, at most one.
    FUZZ_CHECK(c.calls.size() <= before + 1);
    if (all.empty() || all.back().status < 200) {
      FUZZ_CHECK(c.calls.size() == before);  // no answer: nothing may have been stored
      break;
    }
    const Response& r = all.back();
    const bool stored = r.body.find("\"base_offset\"") != std::string::npos;
    if (c.calls.size() > before) {
      // The answer is the ingest function's.
      FUZZ_CHECK(r.status == (refuse ? 503 : 200));
      FUZZ_CHECK(stored == !refuse);
      if (!refuse) {
        FUZZ_CHECK(r.body.find("\"count\":" + std::to_string(c.calls.back().values.size()) + ",") !=
                   std::string::npos);
      }
    } else {
      FUZZ_CHECK(!stored);
    }
    c.stored += stored;
    c.responses.push_back(r);
    if (!more || Lower(r.Header("connection")) == "close") break;
  }
  for (const Call& call : c.calls) {
    FUZZ_CHECK(!call.topic.empty() && call.topic.find('/') == std::string::npos);
    uint64_t bytes = 0;
    for (const std::string& v : call.values) bytes += v.size();
    FUZZ_CHECK(bytes <= kMaxRequestBytes * 2 + 4096);
    FUZZ_CHECK(!call.sequence || *call.sequence >= 0);
    FUZZ_CHECK(!call.partition || *call.partition >= 0);
  }
  return c;
}

std::string Pick(FuzzedDataProvider& in, std::string_view alphabet, size_t min, size_t max) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(min, max);
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += alphabet[in.ConsumeIntegralInRange<size_t>(0, alphabet.size() - 1)];
  }
  return s;
}

void FuzzBody(std::string_view body) {
  const std::vector<std::string_view> lines = SplitLines(body);
  std::string joined;
  for (std::string_view line : lines) {
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    FUZZ_CHECK(line.data() >= body.data() &&
               line.data() + line.size() <= body.data() + body.size());
    joined.append(line);
    joined += '\n';
  }
  std::string expected(body);
  if (!expected.empty() && !expected.ends_with('\n')) expected += '\n';
  // "\r\n" ends a line as "\n" does.
  for (size_t at = 0; (at = expected.find("\r\n", at)) != std::string::npos;) expected.erase(at, 1);
  FUZZ_CHECK(joined == expected);

  std::vector<std::string> storage;
  std::vector<std::string_view> values;
  const Status s = ParseJsonArray(body, &storage, &values);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsInvalidArgument() && values.empty());
    return;
  }
  FUZZ_CHECK(values.size() == storage.size());
  std::string array = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    FUZZ_CHECK(values[i].data() == storage[i].data() && values[i].size() == storage[i].size());
    if (i > 0) array += ',';
    AppendJsonString(&array, values[i], InvalidUtf8::kKeep);
  }
  array += "]";
  std::vector<std::string> storage2;
  std::vector<std::string_view> values2;
  const Status again = ParseJsonArray(array, &storage2, &values2);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(values2 == values);
}

void FuzzGenerated(FuzzedDataProvider& in, uint8_t mode) {
  constexpr std::string_view kNameChars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
  std::string stream;
  std::vector<Call> expected;
  bool closed = false;  // a refusal closes the connection: later requests are not read
  const size_t requests = in.ConsumeIntegralInRange<size_t>(1, 4);
  for (size_t i = 0; i < requests; ++i) {
    Call call;
    call.topic = Pick(in, kNameChars, 1, 20);
    if (call.topic == "." || call.topic == "..") call.topic = "t";  // httplib normalises them
    if (in.ConsumeBool()) {
      call.producer_id = Pick(in, std::string(kNameChars) + ":", 1, 20);
      call.sequence = in.ConsumeIntegralInRange<int64_t>(0, INT64_MAX);
    }
    if (in.ConsumeBool()) call.partition = in.ConsumeIntegralInRange<int32_t>(0, INT32_MAX);
    const bool json = in.ConsumeBool();
    const size_t n = in.ConsumeIntegralInRange<size_t>(1, 8);
    std::string body = json ? "[" : "";
    for (size_t k = 0; k < n; ++k) {
      std::string v = in.ConsumeRandomLengthString(64);
      if (json) {
        for (char& ch : v) ch = static_cast<char>(ch & 0x7f);  // valid UTF-8
        if (k > 0) body += ',';
        AppendJsonString(&body, v, InvalidUtf8::kKeep);
      } else {
        v.erase(std::remove(v.begin(), v.end(), '\n'), v.end());
        while (v.ends_with('\r')) v.pop_back();
        body += v + "\n";
      }
      call.values.push_back(std::move(v));
    }
    if (json) body += "]";
    const bool wrong_token = (mode & 4) && in.ConsumeIntegralInRange<int>(0, 7) == 7;
    std::string head = "POST /topics/" + call.topic + "/records HTTP/1.1\r\nHost: fuzz\r\n";
    if (mode & 4)
      head += std::string("Authorization: Bearer ") + (wrong_token ? "x" : kToken) + "\r\n";
    head += json ? "Content-Type: application/json\r\n" : "Content-Type: text/plain\r\n";
    if (!call.producer_id.empty()) {
      head += std::string(kProducerIdHttpHeader) + ": " + call.producer_id + "\r\n";
      head += std::string(kSequenceHttpHeader) + ": " + std::to_string(*call.sequence) + "\r\n";
    }
    if (call.partition) {
      head += std::string(kPartitionHttpHeader) + ": " + std::to_string(*call.partition) + "\r\n";
    }
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    stream += head + body;
    if (closed) continue;
    if (wrong_token) {
      closed = true;
    } else {
      expected.push_back(std::move(call));
    }
  }
  const Connection c = Serve(stream, mode);
  FUZZ_CHECK(c.calls.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const Call& got = c.calls[i];
    const Call& want = expected[i];
    FUZZ_CHECK(got.topic == want.topic);
    FUZZ_CHECK(got.producer_id == want.producer_id);
    FUZZ_CHECK(got.sequence == want.sequence);
    FUZZ_CHECK(got.partition == want.partition);
    FUZZ_CHECK(got.values == want.values);
  }
  const bool refused = (mode & 8) != 0;
  FUZZ_CHECK(c.stored == (refused ? 0 : expected.size()));
  FUZZ_CHECK(c.responses.size() == expected.size() + (closed ? 1 : 0));
  if (closed) FUZZ_CHECK(c.responses.back().status == 401);
}

}  // namespace
}  // namespace onceflow::receiver

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  if (mode & 16) {
    FuzzedDataProvider in(data + 1, size - 1);
    onceflow::receiver::FuzzGenerated(in, mode);
  } else if (mode & 32) {
    onceflow::receiver::FuzzBody(
        std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  } else {
    onceflow::receiver::Serve(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1),
                              mode);
  }
  return 0;
}
