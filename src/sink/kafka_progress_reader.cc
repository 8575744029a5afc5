// Reading the Kafka sink's progress markers back from the progress topic.
#include "sink/kafka_progress_reader.h"

#include <charconv>
#include <string_view>
#include <utility>

#include "sink/kafka_progress_marker.h"

namespace onceflow::sink {
namespace {

using Clock = std::chrono::steady_clock;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};

}  // namespace

Result<std::unique_ptr<KafkaProgressReader>> KafkaProgressReader::Open(
    const std::string& bootstrap, const std::string& topic,
    std::chrono::milliseconds request_timeout, std::chrono::milliseconds transaction_timeout,
    const std::string& who) {
  std::unique_ptr<KafkaProgressReader> reader(
      new KafkaProgressReader(topic, request_timeout, transaction_timeout, who));
  for (bool committed : {true, false}) {
    ONCEFLOW_ASSIGN_OR_RETURN(
        kafka::Handle client,
        kafka::MakeClient(kafka::ClientKind::kConsumer, bootstrap,
                          {{"group.id", "onceflow-progress-reader"},
                           {"isolation.level", committed ? "read_committed" : "read_uncommitted"},
                           {"enable.auto.commit", "false"},
                           {"enable.partition.eof", "false"},
                           {"fetch.wait.max.ms", "10"}}));
    rd_kafka_poll_set_consumer(client.get());
    // Load the progress topic's metadata now (and keep it: see committed_topic_).
    Topic handle(rd_kafka_topic_new(client.get(), topic.c_str(), nullptr));
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(client.get(), 0, handle.get(), &md,
                                                      static_cast<int>(request_timeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Err(kafka::ErrorStatus(who + ": progress topic metadata", err));
    }
    rd_kafka_metadata_destroy(md);
    (committed ? reader->committed_topic_ : reader->uncommitted_topic_) = std::move(handle);
    (committed ? reader->committed_reader_ : reader->uncommitted_reader_) = std::move(client);
  }
  return reader;
}

Result<std::map<int32_t, std::optional<TaskProgress>>> KafkaProgressReader::Scan(
    const std::string& pipeline, bool committed) {
  std::lock_guard lock(mu_);
  const std::string& topic = topic_name_;
  const std::string who = describe_ + ": progress topic '" + topic + "'";
  // Read up to the high watermark (not the last stable offset): a marker committed after
  // another writer's transaction began lies past the last stable offset until that ends.
  ONCEFLOW_ASSIGN_OR_RETURN(
      auto marks, kafka::Watermarks(uncommitted_reader_.get(), topic, 0, request_timeout_));
  const int64_t end = marks.second;
  rd_kafka_t* c = (committed ? committed_reader_ : uncommitted_reader_).get();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t err = rd_kafka_assign(c, list);
  std::map<int32_t, std::optional<TaskProgress>> out;
  Status s =
      err == RD_KAFKA_RESP_ERR_NO_ERROR ? Status::Ok() : kafka::ErrorStatus(who + ": assign", err);
  const std::string prefix = pipeline + "/";
  // An open transaction of another producer may hold back read_committed reads until the
  // broker aborts it (transaction timeout).
  const auto deadline = Clock::now() + transaction_timeout_ + request_timeout_;
  while (s.ok()) {
    list->elems[0].offset = RD_KAFKA_OFFSET_INVALID;
    rd_kafka_position(c, list);
    if (list->elems[0].offset >= end || end == 0) break;
    std::unique_ptr<rd_kafka_message_t, MessageDeleter> m(rd_kafka_consumer_poll(c, 100));
    if (m == nullptr) {
      if (Clock::now() > deadline) {
        s = Status::IoError(who + ": not read up to offset " + std::to_string(end) + " in time");
      }
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      s = kafka::ErrorStatus(who + ": read", m->err);
      break;
    }
    if (m->key == nullptr) continue;
    const std::string_view key(static_cast<const char*>(m->key), m->key_len);
    if (!pipeline.empty() && key.substr(0, prefix.size()) != prefix) continue;
    const size_t slash = key.rfind('/');
    int32_t task = -1;
    if (slash == std::string_view::npos ||
        std::from_chars(key.data() + slash + 1, key.data() + key.size(), task).ec != std::errc() ||
        (!pipeline.empty() && slash + 1 != prefix.size())) {
      continue;  // another pipeline whose name has our name as a prefix, or not ours at all
    }
    if (m->payload == nullptr) {  // a tombstone: the task's progress was deleted
      out[task] = std::nullopt;
      continue;
    }
    Result<TaskProgress> p =
        DecodeMarker(std::string_view(static_cast<const char*>(m->payload), m->len));
    if (!p.has_value()) {
      s = Status::Corruption(who + " offset " + std::to_string(m->offset) + " (key '" +
                             std::string(key) + "'): " + p.error().message());
      break;
    }
    out[task] = std::move(p).value();
  }
  rd_kafka_assign(c, nullptr);
  rd_kafka_topic_partition_list_destroy(list);
  if (!s.ok()) return Err(s);
  return out;
}

}  // namespace onceflow::sink
