// librdkafka handles, errors, metadata and topic administration.
#include "kafka/kafka_client.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <thread>

namespace onceflow::kafka {
namespace {

bool IsTransient(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:  // a partition just created, not yet known
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS: return true;
    default: return false;
  }
}

}  // namespace

Result<Handle> MakeClient(ClientKind kind, const std::string& bootstrap, const Settings& settings,
                          const std::function<void(rd_kafka_conf_t*)>& customize) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  Settings all = {{"bootstrap.servers", bootstrap},
                  {"client.id", "onceflow"},
                  // Connection errors while a broker restarts are expected and retried; the
                  // caller reports what fails for good.
                  {"log_level", "3"},
                  {"log.connection.close", "false"}};
  all.insert(all.end(), settings.begin(), settings.end());
  for (const auto& [key, value] : all) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Err(Status::InvalidArgument("kafka setting '" + key + "': " + err));
    }
  }
  if (customize) customize(conf);
  rd_kafka_t* rk =
      rd_kafka_new(kind == ClientKind::kProducer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, err,
                   sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Err(Status::InvalidArgument(std::string("kafka client: ") + err));
  }
  return Handle(rk);  // rd_kafka_new took the conf
}

Result<int32_t> GenerationOf(const rd_kafka_consumer_group_metadata_t* metadata) {
  static constexpr char kMagic[] = "CGMDv2:";
  constexpr size_t kMagicSize = sizeof(kMagic) - 1;
  void* buffer = nullptr;
  size_t size = 0;
  rd_kafka_error_t* error = rd_kafka_consumer_group_metadata_write(metadata, &buffer, &size);
  if (error != nullptr) return Err(ErrorStatus("read the consumer group's generation", error));
  struct Free {
    void operator()(void* p) const { rd_kafka_mem_free(nullptr, p); }
  };
  std::unique_ptr<void, Free> owned(buffer);
  if (size < kMagicSize + sizeof(int32_t) || std::memcmp(buffer, kMagic, kMagicSize) != 0) {
    return Err(Status::Aborted("read the consumer group's generation: this librdkafka (" +
                               std::string(rd_kafka_version_str()) +
                               ") serialises group metadata in a form onceflow does not know"));
  }
  int32_t generation = 0;
  std::memcpy(&generation, static_cast<const char*>(buffer) + kMagicSize, sizeof(generation));
  return generation;
}

Status ErrorStatus(std::string_view what, rd_kafka_resp_err_t err) {
  std::string msg = std::string(what) + ": " + rd_kafka_err2str(err);
  if (IsTransient(err)) return Status::IoError(std::move(msg));
  return Status::Aborted(std::move(msg));
}

Status ErrorStatus(std::string_view what, rd_kafka_error_t* error) {
  std::string msg = std::string(what) + ": " + rd_kafka_error_string(error);
  const bool fatal = rd_kafka_error_is_fatal(error) != 0;
  const bool retriable = rd_kafka_error_is_retriable(error) != 0;
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  if (fatal || code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
      code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH) {
    return Status::Fenced(std::move(msg));
  }
  if (retriable || IsTransient(code)) return Status::IoError(std::move(msg));
  return Status::Aborted(std::move(msg));
}

Result<int32_t> PartitionCount(rd_kafka_t* rk, const std::string& topic,
                               std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, 0, rkt, &md, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Err(ErrorStatus("kafka topic '" + topic + "': metadata", err));
  }
  Result<int32_t> out = 0;
  if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    out = Err(Status::NotFound("kafka topic '" + topic +
                               "' does not exist (create it with "
                               "`onceflow topics create --kafka BOOTSTRAP " +
                               topic + "`)"));
  } else if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out = Err(ErrorStatus("kafka topic '" + topic + "': metadata", md->topics[0].err));
  } else {
    out = md->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

Result<std::vector<std::string>> ListTopics(rd_kafka_t* rk, std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Err(ErrorStatus("kafka: list topics", err));
  std::vector<std::string> names;
  for (int i = 0; i < md->topic_cnt; ++i) {
    std::string name = md->topics[i].topic;
    if (name.rfind("__", 0) != 0) names.push_back(std::move(name));
  }
  rd_kafka_metadata_destroy(md);
  std::sort(names.begin(), names.end());
  return names;
}

Status CreateTopic(rd_kafka_t* rk, const TopicSpec& spec, bool exist_ok,
                   std::chrono::milliseconds timeout) {
  const std::string who = "kafka topic '" + spec.name + "'";
  char err[512];
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions, spec.replication, err, sizeof(err));
  if (topic == nullptr) return Status::InvalidArgument(who + ": " + err);
  for (const auto& [key, value] : spec.configs) {
    rd_kafka_NewTopic_set_config(topic, key.c_str(), value.c_str());
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, static_cast<int>(timeout.count()), err,
                                              sizeof(err));
  rd_kafka_CreateTopics(rk, &topic, 1, options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000);
  Status s = Status::Ok();
  if (event == nullptr) {
    s = Status::IoError(who + ": create: no answer within " + std::to_string(timeout.count()) +
                        " ms");
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    s = ErrorStatus(who + ": create", rd_kafka_event_error(event));
  } else {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
    for (size_t i = 0; i < n; ++i) {
      const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        if (!exist_ok) s = Status::InvalidArgument(who + " already exists");
        continue;
      }
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      s = Status::Aborted(who + ": create: " + (msg != nullptr ? msg : rd_kafka_err2str(e)));
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  if (!s.ok()) return s;
  // The controller answers before every broker knows the topic; wait until metadata agrees.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    Result<int32_t> n = PartitionCount(rk, spec.name, timeout);
    if (n.has_value() && (*n >= spec.partitions || exist_ok)) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return n.has_value() ? Status::IoError(who + ": created, but its metadata did not show it")
                           : n.error();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::pair<int64_t, int64_t>> Watermarks(rd_kafka_t* rk, const std::string& topic,
                                               int32_t partition,
                                               std::chrono::milliseconds timeout) {
  int64_t low = 0;
  int64_t high = 0;
  const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk, topic.c_str(), partition, &low, &high, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Err(ErrorStatus(
        "kafka topic '" + topic + "' partition " + std::to_string(partition) + ": offsets", err));
  }
  return std::make_pair(low, high);
}

}  // namespace onceflow::kafka

namespace onceflow::kafka {

Status AddPartitions(rd_kafka_t* rk, const std::string& topic, int32_t partitions,
                     std::chrono::milliseconds timeout) {
  const std::string who = "kafka topic '" + topic + "'";
  char err[512];
  rd_kafka_NewPartitions_t* np =
      rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(partitions), err, sizeof(err));
  if (np == nullptr) return Status::InvalidArgument(who + ": " + err);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreatePartitions(rk, &np, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()));
  Status s = Status::Ok();
  if (event == nullptr) {
    s = Status::IoError(who + ": add partitions: no answer");
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    s = ErrorStatus(who + ": add partitions", rd_kafka_event_error(event));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(event), &n);
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_topic_result_error(results[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        s = Status::Aborted(who +
                            ": add partitions: " + rd_kafka_topic_result_error_string(results[i]));
      }
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewPartitions_destroy(np);
  if (!s.ok()) return s;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<int32_t> n = PartitionCount(rk, topic, timeout);
    if (n.has_value() && *n >= partitions) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::IoError(who + ": partitions added, but its metadata did not show them");
}

}  // namespace onceflow::kafka
