// HttpHandler: the receiver's HTTP request handling apart from its connections — cpp-httplib's
// request parser and router over any httplib::Stream, the checks of the request head, the body
// into records and the answer. HttpServer serves it on sockets; the fuzz target
// (fuzz/http_request_fuzz.cc) on bytes in memory.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "receiver/ingest.h"
#include "receiver/metrics.h"

namespace onceflow::receiver {

struct HttpHandlerOptions {
  // Required as "Authorization: Bearer <token>" on POST and /metrics when not empty.
  std::string token;
  // The ingest limit of one request's records (IngestOptions::max_request_bytes). A body may be
  // somewhat larger (JSON escapes): the body limit is twice this plus 4 KiB.
  uint64_t max_request_bytes = 16u << 20;
  // Only for the Keep-Alive header of the answers (the connections enforce the timeout).
  int64_t idle_timeout_ms = 30000;
};

// Stores a request's records and says how it went (Ingestor::Ingest on a server).
using IngestFunction = std::function<IngestResponse(const IngestRequest&)>;

// Routes: POST /topics/{topic}/records (records as text lines, or a JSON array with
// Content-Type application/json), GET /health, GET /metrics. Everything the head can tell
// (endpoint, token, Content-Length) is checked before a byte of the body is read; such a
// refusal asks the connection to close after the answer (CloseConnectionAfterResponse).
// `ingest` is called only for a POST whose body was read whole and parsed, once, and its
// response is the answer: a request answered otherwise stored nothing.
// Thread-safety: ProcessOne on any number of threads at once; SetStopping from any thread.
class HttpHandler {
 public:
  // "*metrics" must outlive the handler.
  HttpHandler(IngestFunction ingest, ReceiverMetrics* metrics, const HttpHandlerOptions& options);
  ~HttpHandler();

  // Reads one request from `stream`, handles it and writes the response; returns whether the
  // connection may carry another request.
  bool ProcessOne(httplib::Stream& stream);

  // The server is stopping: from now on a body whose read fails was cut off by the shutdown,
  // and is answered 503 (send it again) rather than 400.
  void SetStopping();

  HttpHandler(const HttpHandler&) = delete;
  HttpHandler& operator=(const HttpHandler&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The HTTP header names of the protocol.
inline constexpr const char* kProducerIdHttpHeader = "Onceflow-Producer-Id";
inline constexpr const char* kSequenceHttpHeader = "Onceflow-Sequence";
inline constexpr const char* kPartitionHttpHeader = "Onceflow-Partition";

// Whether `given` equals `expected`, in time independent of where they differ.
bool TokenEquals(std::string_view given, std::string_view expected);

}  // namespace onceflow::receiver
