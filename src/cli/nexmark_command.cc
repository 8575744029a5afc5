// `onceflow nexmark generate`: the Nexmark generator's events written into a topic of the
// embedded log or of Kafka, so that a pipeline can read them from a real log. The kind's event
// j goes to partition j mod P (P: the topic's partitions), so that an empty topic ends up with
// the records a `[source] type = "nexmark"` with partitions = P reads, at the same offsets.
#include <fmt/core.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "kafka/kafka_client.h"
#include "log/record_batch.h"
#include "log/topic.h"
#include "source/nexmark_model.h"

namespace onceflow::cli {
namespace {

constexpr std::chrono::milliseconds kTimeout{30000};
constexpr size_t kBatchBytes = 1u << 20;

// Calls fn(partition, record) for the kind's events among the first options.events, in
// order. Stops at fn's first error.
template <typename Fn>
Status ForEachEvent(const NexmarkSourceOptions& options, int32_t partitions, Fn&& fn) {
  namespace nx = source::nexmark;
  const int64_t count = nx::CountOf(options.kind, options.events);
  const bool with_type = options.kind == NexmarkKind::kAll;
  nx::Event event;
  std::string value;
  for (int64_t j = 0; j < count; ++j) {
    nx::Generate(options, nx::EventNumberOf(options.kind, j), &event);
    value.clear();
    nx::AppendJson(event, with_type, &value);
    RecordView record;
    record.value = value;
    record.timestamp_ms = event.date_time;
    ONCEFLOW_RETURN_IF_ERROR(fn(static_cast<int32_t>(j % partitions), record));
  }
  return Status::Ok();
}

Status GenerateIntoLog(const NexmarkGenerateOptions& options) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto topic, log::Topic::Open(options.data_dir, options.topic));
  const int32_t partitions = topic->partition_count();
  std::vector<log::PartitionLog*> logs;
  for (int32_t p = 0; p < partitions; ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, topic->partition(PartitionId(p)));
    if (log->end_offset().value() != 0) {
      return Status::InvalidArgument(
          "topic '" + options.topic + "' partition " + std::to_string(p) +
          " is not empty (it ends at offset " + log->end_offset().ToString() +
          "): nexmark generate writes event 0 on from offset 0, so that the topic's offsets are "
          "the generator's; write into a new topic");
    }
    logs.push_back(log);
  }
  std::vector<log::BatchBuilder> builders(static_cast<size_t>(partitions));
  auto append = [&](int32_t p) -> Status {
    log::BatchBuilder& b = builders[static_cast<size_t>(p)];
    if (b.empty()) return Status::Ok();
    auto appended = logs[static_cast<size_t>(p)]->Append(b.Finish());
    b.Reset();
    return appended.has_value() ? Status::Ok() : appended.error();
  };
  ONCEFLOW_RETURN_IF_ERROR(
      ForEachEvent(options.generator, partitions, [&](int32_t p, const RecordView& r) {
        log::BatchBuilder& b = builders[static_cast<size_t>(p)];
        b.Add(r);
        return b.size_bytes() >= kBatchBytes ? append(p) : Status::Ok();
      }));
  for (int32_t p = 0; p < partitions; ++p) ONCEFLOW_RETURN_IF_ERROR(append(p));
  fmt::print(stderr, "wrote {} nexmark {} events of {} into topic '{}' ({} partition(s))\n",
             source::nexmark::CountOf(options.generator.kind, options.generator.events),
             source::nexmark::KindName(options.generator.kind), options.generator.events,
             options.topic, partitions);
  return Status::Ok();
}

Status GenerateIntoKafka(const NexmarkGenerateOptions& options) {
  const std::string& topic = options.topic;
  ONCEFLOW_ASSIGN_OR_RETURN(
      kafka::Handle producer,
      kafka::MakeClient(kafka::ClientKind::kProducer, options.kafka,
                        {{"enable.idempotence", "true"}, {"linger.ms", "5"}}));
  ONCEFLOW_ASSIGN_OR_RETURN(int32_t partitions,
                            kafka::PartitionCount(producer.get(), topic, kTimeout));
  ONCEFLOW_RETURN_IF_ERROR(
      ForEachEvent(options.generator, partitions, [&](int32_t p, const RecordView& r) {
        while (true) {
          const rd_kafka_resp_err_t err = rd_kafka_producev(
              producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(p),
              RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
              RD_KAFKA_V_TIMESTAMP(r.timestamp_ms), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
              RD_KAFKA_V_END);
          if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
          if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            return kafka::ErrorStatus("produce to kafka topic '" + topic + "'", err);
          }
          rd_kafka_poll(producer.get(), 10);
        }
        rd_kafka_poll(producer.get(), 0);
        return Status::Ok();
      }));
  const rd_kafka_resp_err_t err = rd_kafka_flush(producer.get(), kTimeout.count());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::ErrorStatus("produce to kafka topic '" + topic + "': flush", err);
  }
  // With idempotence, a failed delivery is fatal for the producer: it shows here.
  char reason[512];
  if (rd_kafka_fatal_error(producer.get(), reason, sizeof(reason)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IoError("produce to kafka topic '" + topic + "': " + reason);
  }
  fmt::print(stderr, "wrote {} nexmark {} events of {} into kafka topic '{}' ({} partition(s))\n",
             source::nexmark::CountOf(options.generator.kind, options.generator.events),
             source::nexmark::KindName(options.generator.kind), options.generator.events, topic,
             partitions);
  return Status::Ok();
}

}  // namespace

Status RunNexmarkGenerate(const NexmarkGenerateOptions& options) {
  NexmarkSourceOptions checked = options.generator;
  checked.partitions = 1;  // the topic's own count is used
  const std::string error = source::nexmark::ValidateNexmarkOptions(checked);
  if (!error.empty()) {
    // The flags are named like the TOML keys: "source.events" -> "--events".
    std::string flag = error.substr(0, error.find(':'));
    if (flag.rfind("source.", 0) == 0) flag = "--" + flag.substr(7);
    for (char& c : flag) c = c == '_' ? '-' : c;
    return Status::InvalidArgument("nexmark generate: " + flag + error.substr(error.find(':')));
  }
  return options.kafka.empty() ? GenerateIntoLog(options) : GenerateIntoKafka(options);
}

}  // namespace onceflow::cli
