// Tests against the real Kafka broker of the test run (services.h): unique topics, topics made
// for a test, transactional and idempotent test producers, and a read_committed reader.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "kafka/kafka_client.h"
#include "testing/hang_guard.h"
#include "testing/services.h"

namespace onceflow::testing {

// How long a test waits for the broker in one call: a hang guard, not a speed bound (a JVM
// broker on two busy cores may answer far later than on a quiet machine; was 15 s).
inline constexpr std::chrono::milliseconds kKafkaTimeout = kHangGuard;

// A topic name no other test (or earlier run against the same broker) uses.
std::string UniqueTopic(const std::string& prefix);

// Creates `name` with `partitions` (an error if it exists).
Status CreateTestTopic(const std::string& bootstrap, const std::string& name, int32_t partitions,
                       kafka::Settings configs = {});

// A producer for tests: transactional when `transactional_id` is set, else idempotent.
class TestProducer {
 public:
  static Result<TestProducer> Make(const std::string& bootstrap,
                                   const std::string& transactional_id = "");

  Status Begin();
  Status Commit();
  Status Abort();
  // Enqueues one record; Flush (or Commit) sends it.
  Status Send(const std::string& topic, int32_t partition, const std::string& value,
              std::optional<std::string> key = std::nullopt);
  Status Flush();
  rd_kafka_t* get() { return h_.get(); }

 private:
  explicit TestProducer(kafka::Handle h) : h_(std::move(h)) {}
  kafka::Handle h_;
};

// One record as a consumer of the topic sees it.
struct ConsumedRecord {
  int32_t partition;
  int64_t offset;
  std::string key;
  std::string value;
};

// Every record of `topic` as a read_committed consumer sees it, partition by partition, up to
// the partitions' high watermarks. REQUIRES: no transaction on the topic is left open (it would
// hold the reader until the broker aborts it).
Result<std::vector<ConsumedRecord>> ReadCommitted(const std::string& bootstrap,
                                                  const std::string& topic);

}  // namespace onceflow::testing
