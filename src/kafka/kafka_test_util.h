// Test helpers for code that talks to the real Kafka broker that scripts/test.sh starts
// (scripts/services/kafka.sh): its address, unique topics, transactional test producers.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kafka/kafka_client.h"

namespace onceflow::kafka::testing {

// ONCEFLOW_TEST_KAFKA, or "" when unset.
inline std::string TestBootstrap() {
  const char* v = std::getenv("ONCEFLOW_TEST_KAFKA");
  return v == nullptr ? std::string() : std::string(v);
}

inline bool ServicesRequired() {
  const char* v = std::getenv("ONCEFLOW_REQUIRE_SERVICES");
  return v != nullptr && std::string(v) == "1";
}

// A topic name no other test (or earlier run against the same broker) uses.
inline std::string UniqueTopic(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}();
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(salt % 100000) + "-" +
         std::to_string(counter.fetch_add(1));
}

inline constexpr std::chrono::milliseconds kTimeout{15000};

inline Status CreateTestTopic(const std::string& bootstrap, const std::string& name,
                              int32_t partitions, Settings configs = {}) {
  ONCEFLOW_ASSIGN_OR_RETURN(Handle admin, MakeClient(ClientKind::kProducer, bootstrap, {}));
  TopicSpec spec{name, partitions, -1, std::move(configs)};
  return CreateTopic(admin.get(), spec, /*exist_ok=*/false, kTimeout);
}

// A producer for tests: transactional when `transactional_id` is set, else idempotent.
class TestProducer {
 public:
  static Result<TestProducer> Make(const std::string& bootstrap,
                                   const std::string& transactional_id = "") {
    Settings s = {{"enable.idempotence", "true"}, {"linger.ms", "0"}};
    if (!transactional_id.empty()) s.push_back({"transactional.id", transactional_id});
    ONCEFLOW_ASSIGN_OR_RETURN(Handle h, MakeClient(ClientKind::kProducer, bootstrap, s));
    if (!transactional_id.empty()) {
      if (rd_kafka_error_t* e = rd_kafka_init_transactions(h.get(), kTimeout.count())) {
        return Err(ErrorStatus("init_transactions", e));
      }
    }
    return TestProducer(std::move(h));
  }

  Status Begin() {
    if (rd_kafka_error_t* e = rd_kafka_begin_transaction(h_.get())) {
      return ErrorStatus("begin", e);
    }
    return Status::Ok();
  }
  Status Commit() {
    if (rd_kafka_error_t* e = rd_kafka_commit_transaction(h_.get(), kTimeout.count())) {
      return ErrorStatus("commit", e);
    }
    return Status::Ok();
  }
  Status Abort() {
    if (rd_kafka_error_t* e = rd_kafka_abort_transaction(h_.get(), kTimeout.count())) {
      return ErrorStatus("abort", e);
    }
    return Status::Ok();
  }
  // Enqueues one record; Flush (or Commit) sends it.
  Status Send(const std::string& topic, int32_t partition, const std::string& value,
              std::optional<std::string> key = std::nullopt) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        h_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_KEY((key ? const_cast<char*>(key->data()) : nullptr), (key ? key->size() : 0)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus("produce", err);
    return Status::Ok();
  }
  Status Flush() {
    const rd_kafka_resp_err_t err = rd_kafka_flush(h_.get(), kTimeout.count());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus("flush", err);
    return Status::Ok();
  }
  rd_kafka_t* get() { return h_.get(); }

 private:
  explicit TestProducer(Handle h) : h_(std::move(h)) {}
  Handle h_;
};

// Every record of `topic` as a read_committed consumer sees it, partition by partition, up to
// the partitions' high watermarks: (partition, offset, key, value). REQUIRES: no transaction
// on the topic is left open (it would hold the reader until the broker aborts it).
struct ConsumedRecord {
  int32_t partition;
  int64_t offset;
  std::string key;
  std::string value;
};
Result<std::vector<ConsumedRecord>> ReadCommitted(const std::string& bootstrap,
                                                  const std::string& topic);

}  // namespace onceflow::kafka::testing

// Declares `std::string var` = the test broker's bootstrap address. Without one the test is
// skipped, or fails when ONCEFLOW_REQUIRE_SERVICES=1 (scripts/test.sh sets both).
#define ONCEFLOW_KAFKA_OR_SKIP(var)                                                      \
  const std::string var = ::onceflow::kafka::testing::TestBootstrap();                  \
  if (var.empty()) {                                                                     \
    if (::onceflow::kafka::testing::ServicesRequired()) {                                \
      FAIL() << "ONCEFLOW_REQUIRE_SERVICES=1 but ONCEFLOW_TEST_KAFKA is not set";        \
    }                                                                                    \
    GTEST_SKIP() << "no Kafka broker: set ONCEFLOW_TEST_KAFKA (scripts/services/kafka.sh)"; \
  }
