// HttpProducer: the reference client of the receiver's HTTP endpoint. It gives each request the
// next sequence numbers of a stable producer id and retries it until it is acknowledged, so a
// lost acknowledgement never becomes a second copy of the records.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace httplib {
class Client;
}

namespace onceflow::receiver {

struct HttpProducerOptions {
  std::string url;  // http://HOST:PORT
  std::string topic;
  std::string producer_id;  // empty: a random one (stable for the producer's lifetime)
  int64_t first_sequence = 0;
  std::string token;                         // sent as a bearer token when not empty
  std::chrono::milliseconds timeout{30000};  // per attempt (connect, and waiting for the ack)
  int64_t max_attempts = -1;                 // per request; -1: retry until acknowledged
  // Asked before each retry (empty: never): true ends the request unacknowledged (aborted,
  // with the last error), e.g. when the caller is shutting down or has waited long enough.
  std::function<bool()> give_up;
};

struct HttpAck {
  int32_t partition = -1;
  Offset base_offset;
  uint32_t count = 0;
  bool duplicate = false;  // the receiver had stored it already (an earlier ack was lost)
  int attempts = 0;
};

// Thread-safety: one thread per producer. Requests are sent one at a time.
class HttpProducer {
 public:
  static Result<std::unique_ptr<HttpProducer>> Create(const HttpProducerOptions& options);
  ~HttpProducer();

  // Sends `values` as one request with sequences [next_sequence(), +values.size()) and waits
  // for its acknowledgement. Connection errors, timeouts and 5xx answers (503: after its
  // Retry-After) are retried with the same producer id and sequence, with backoff, until
  // max_attempts (then io_error) or until give_up says stop (aborted). Another 4xx is returned
  // as invalid_argument carrying the receiver's message. After any error the sequence does not
  // advance. REQUIRES: !values.empty() (CHECKed).
  Result<HttpAck> Send(std::span<const std::string_view> values);

  const std::string& producer_id() const { return options_.producer_id; }
  int64_t next_sequence() const { return next_sequence_; }

  HttpProducer(const HttpProducer&) = delete;
  HttpProducer& operator=(const HttpProducer&) = delete;

 private:
  explicit HttpProducer(HttpProducerOptions options);
  HttpProducerOptions options_;
  std::string path_;
  int64_t next_sequence_;
  std::unique_ptr<httplib::Client> client_;
};

// A random producer id, "p-" and 24 hex digits.
std::string RandomProducerId();

}  // namespace onceflow::receiver
