// The Kafka test helpers over librdkafka. ReadCommitted is a plain read_committed consumer, the
// way a downstream application sees a topic.
#include "testing/kafka.h"

#include <unistd.h>

#include <atomic>
#include <map>
#include <random>

namespace onceflow::testing {

using kafka::ClientKind;
using kafka::ErrorStatus;
using kafka::Handle;
using kafka::MakeClient;

std::string UniqueTopic(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}();
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(salt % 100000) + "-" +
         std::to_string(counter.fetch_add(1));
}

Status CreateTestTopic(const std::string& bootstrap, const std::string& name, int32_t partitions,
                       kafka::Settings configs) {
  ONCEFLOW_ASSIGN_OR_RETURN(Handle admin, MakeClient(ClientKind::kProducer, bootstrap, {}));
  kafka::TopicSpec spec{name, partitions, -1, std::move(configs)};
  return kafka::CreateTopic(admin.get(), spec, /*exist_ok=*/false, kKafkaTimeout);
}

Result<TestProducer> TestProducer::Make(const std::string& bootstrap,
                                        const std::string& transactional_id) {
  kafka::Settings s = {{"enable.idempotence", "true"}, {"linger.ms", "0"}};
  if (!transactional_id.empty()) s.push_back({"transactional.id", transactional_id});
  ONCEFLOW_ASSIGN_OR_RETURN(Handle h, MakeClient(ClientKind::kProducer, bootstrap, s));
  if (!transactional_id.empty()) {
    if (rd_kafka_error_t* e = rd_kafka_init_transactions(h.get(), kKafkaTimeout.count())) {
      return Err(ErrorStatus("init_transactions", e));
    }
  }
  return TestProducer(std::move(h));
}

Status TestProducer::Begin() {
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(h_.get())) return ErrorStatus("begin", e);
  return Status::Ok();
}

Status TestProducer::Commit() {
  if (rd_kafka_error_t* e = rd_kafka_commit_transaction(h_.get(), kKafkaTimeout.count())) {
    return ErrorStatus("commit", e);
  }
  return Status::Ok();
}

Status TestProducer::Abort() {
  if (rd_kafka_error_t* e = rd_kafka_abort_transaction(h_.get(), kKafkaTimeout.count())) {
    return ErrorStatus("abort", e);
  }
  return Status::Ok();
}

Status TestProducer::Send(const std::string& topic, int32_t partition, const std::string& value,
                          std::optional<std::string> key) {
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      h_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_KEY((key ? const_cast<char*>(key->data()) : nullptr), (key ? key->size() : 0)),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus("produce", err);
  return Status::Ok();
}

Status TestProducer::Flush() {
  const rd_kafka_resp_err_t err = rd_kafka_flush(h_.get(), kKafkaTimeout.count());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus("flush", err);
  return Status::Ok();
}

Result<std::vector<ConsumedRecord>> ReadCommitted(const std::string& bootstrap,
                                                  const std::string& topic) {
  ONCEFLOW_ASSIGN_OR_RETURN(Handle c, MakeClient(ClientKind::kConsumer, bootstrap,
                                                 {{"group.id", "onceflow-test-reader"},
                                                  {"isolation.level", "read_committed"},
                                                  {"enable.auto.commit", "false"},
                                                  {"auto.offset.reset", "earliest"}}));
  rd_kafka_poll_set_consumer(c.get());
  // Read up to the high watermark, not the last stable offset: commit_transaction returns
  // before the commit markers are written, so the last stable offset may lag for a moment.
  // The read_committed position passes the high watermark once every transaction is settled.
  ONCEFLOW_ASSIGN_OR_RETURN(
      Handle marks_client,
      MakeClient(ClientKind::kConsumer, bootstrap,
                 {{"group.id", "onceflow-test-reader"}, {"isolation.level", "read_uncommitted"}}));
  ONCEFLOW_ASSIGN_OR_RETURN(int32_t n, kafka::PartitionCount(c.get(), topic, kKafkaTimeout));
  std::map<int32_t, int64_t> end;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(n);
  for (int32_t p = 0; p < n; ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(auto marks,
                              kafka::Watermarks(marks_client.get(), topic, p, kKafkaTimeout));
    end[p] = marks.second;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(c.get(), list);
  std::vector<ConsumedRecord> out;
  const auto deadline = std::chrono::steady_clock::now() + kKafkaTimeout;
  while (true) {
    bool done = true;
    for (int32_t p = 0; p < n; ++p) {
      list->elems[p].offset = RD_KAFKA_OFFSET_INVALID;
    }
    rd_kafka_position(c.get(), list);
    for (int32_t p = 0; p < n; ++p) {
      const int64_t pos = list->elems[p].offset;
      if (end[p] > 0 && pos < end[p]) done = false;
    }
    if (done) break;
    if (std::chrono::steady_clock::now() > deadline) {
      rd_kafka_topic_partition_list_destroy(list);
      return Err(Status::IoError("ReadCommitted: topic '" + topic + "' not read to its end"));
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c.get(), 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ConsumedRecord r{m->partition, m->offset,
                       m->key ? std::string(static_cast<char*>(m->key), m->key_len) : "",
                       std::string(static_cast<char*>(m->payload), m->len)};
      if (r.offset < end[r.partition]) out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(c.get());
  return out;
}

}  // namespace onceflow::testing
