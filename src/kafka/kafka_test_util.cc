// ReadCommitted: a plain read_committed consumer, the way a downstream application sees a topic.
#include "kafka/kafka_test_util.h"

#include <map>
#include <thread>

namespace onceflow::kafka::testing {

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
  ONCEFLOW_ASSIGN_OR_RETURN(Handle marks_client,
                   MakeClient(ClientKind::kConsumer, bootstrap,
                              {{"group.id", "onceflow-test-reader"},
                               {"isolation.level", "read_uncommitted"}}));
  ONCEFLOW_ASSIGN_OR_RETURN(int32_t n, PartitionCount(c.get(), topic, kTimeout));
  std::map<int32_t, int64_t> end;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(n);
  for (int32_t p = 0; p < n; ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(auto marks, Watermarks(marks_client.get(), topic, p, kTimeout));
    end[p] = marks.second;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(c.get(), list);
  std::vector<ConsumedRecord> out;
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
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

}  // namespace onceflow::kafka::testing
