// `onceflow topics|produce|consume --kafka BOOTSTRAP`: the same verbs on a Kafka cluster. Topics
// through the Admin API, produce through an idempotent producer (acks=all), consume through the
// Kafka source (read_committed, exact offsets).
#include <fmt/core.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "kafka/kafka_client.h"
#include "source/kafka_source.h"

namespace onceflow::cli {
namespace {

constexpr std::chrono::milliseconds kTimeout{30000};

volatile std::sig_atomic_t kafka_stop = 0;
extern "C" void OnKafkaStop(int) { kafka_stop = 1; }

Result<kafka::Handle> Admin(const std::string& bootstrap) {
  return kafka::MakeClient(kafka::ClientKind::kProducer, bootstrap, {});
}

Result<std::unique_ptr<source::KafkaSource>> OpenTopic(const std::string& bootstrap,
                                                       const std::string& topic) {
  source::KafkaSourceOptions o;
  o.bootstrap = bootstrap;
  o.topic = topic;
  o.group = "onceflow-cli";
  return source::KafkaSource::Open(std::move(o));
}

}  // namespace

Status RunKafkaTopicsCreate(const std::string& bootstrap, const TopicsCreateOptions& options) {
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle admin, Admin(bootstrap));
  kafka::TopicSpec spec{options.name, options.partitions, -1, {}};
  if (options.log.retention_bytes >= 0) {
    spec.configs.push_back({"retention.bytes", std::to_string(options.log.retention_bytes)});
  }
  if (options.log.retention_ms >= 0) {
    spec.configs.push_back({"retention.ms", std::to_string(options.log.retention_ms)});
  }
  ONCEFLOW_RETURN_IF_ERROR(kafka::CreateTopic(admin.get(), spec, /*exist_ok=*/false, kTimeout));
  fmt::print(stderr, "created kafka topic '{}' with {} partition(s) on {}\n", options.name,
             options.partitions, bootstrap);
  return Status::Ok();
}

Status RunKafkaTopicsList(const std::string& bootstrap) {
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle admin, Admin(bootstrap));
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> names,
                            kafka::ListTopics(admin.get(), kTimeout));
  for (const std::string& name : names) fmt::print("{}\n", name);
  return Status::Ok();
}

Status RunKafkaTopicsDescribe(const std::string& bootstrap, const std::string& name) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto topic, OpenTopic(bootstrap, name));
  ONCEFLOW_ASSIGN_OR_RETURN(source::Source::Bounds bounds, topic->OffsetBounds());
  const std::vector<Offset>& earliest = bounds.earliest;
  const std::vector<Offset>& end = bounds.end;
  fmt::print("topic:      {}\n", name);
  fmt::print("cluster:    {}\n", bootstrap);
  fmt::print("partitions: {}\n\n", end.size());
  // END is the last stable offset (what read_committed readers and onceflow pipelines see).
  constexpr std::string_view kFormat = "{:>9}  {:>12}  {:>12}  {:>12}\n";
  fmt::print(kFormat, "PARTITION", "EARLIEST", "END", "OFFSETS");
  int64_t total = 0;
  for (size_t p = 0; p < end.size() && p < earliest.size(); ++p) {
    const int64_t n = end[p] - earliest[p];
    total += n;
    fmt::print(kFormat, p, earliest[p].value(), end[p].value(), n);
  }
  fmt::print(kFormat, "total", "", "", total);
  return Status::Ok();
}

Status RunKafkaProduce(const std::string& bootstrap, const ProduceOptions& options) {
  if (options.csv_header) {
    return Status::InvalidArgument(
        "--csv-header is not supported with --kafka yet; set [source] csv_columns in the "
        "pipeline and produce the file without its header line (tail -n +2 FILE)");
  }
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle admin, Admin(bootstrap));
  ONCEFLOW_RETURN_IF_ERROR(kafka::PartitionCount(admin.get(), options.topic, kTimeout));
  ONCEFLOW_ASSIGN_OR_RETURN(
      kafka::Handle producer,
      kafka::MakeClient(kafka::ClientKind::kProducer, bootstrap,
                        {{"enable.idempotence", "true"}, {"linger.ms", "5"}}));
  std::atomic<int64_t> failed{0};
  std::string line;
  int64_t count = 0;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string_view key, value = line;
    bool keyed = false;
    if (options.key_separator) {
      const size_t at = line.find(*options.key_separator);
      if (at != std::string::npos) {
        keyed = true;
        key = std::string_view(line).substr(0, at);
        value = std::string_view(line).substr(at + options.key_separator->size());
      }
    }
    while (true) {
      const rd_kafka_resp_err_t err =
          rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(options.topic.c_str()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                            RD_KAFKA_V_KEY((keyed ? const_cast<char*>(key.data()) : nullptr),
                                           (keyed ? key.size() : 0)),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return kafka::ErrorStatus("produce to kafka topic '" + options.topic + "'", err);
      }
      rd_kafka_poll(producer.get(), 10);
    }
    ++count;
    rd_kafka_poll(producer.get(), 0);
  }
  const rd_kafka_resp_err_t err = rd_kafka_flush(producer.get(), kTimeout.count());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::ErrorStatus("produce to kafka topic '" + options.topic + "': flush", err);
  }
  // With idempotence, a failed delivery is fatal for the producer: it shows here.
  char reason[512];
  if (rd_kafka_fatal_error(producer.get(), reason, sizeof(reason)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IoError("produce to kafka topic '" + options.topic + "': " + reason);
  }
  (void)failed;
  fmt::print(stderr, "produced {} records to kafka topic '{}'\n", count, options.topic);
  return Status::Ok();
}

Status RunKafkaConsume(const std::string& bootstrap, const ConsumeOptions& options) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto topic, OpenTopic(bootstrap, options.topic));
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<Offset> positions, topic->EarliestOffsets());
  if (options.partition) {
    const auto p = static_cast<size_t>(*options.partition);
    if (*options.partition < 0 || p >= positions.size()) {
      return Status::InvalidArgument("kafka topic '" + options.topic + "' has no partition " +
                                     std::to_string(*options.partition));
    }
    if (options.offset) positions[p] = Offset(*options.offset);
  }
  if (options.follow) {
    struct sigaction sa {};
    sa.sa_handler = OnKafkaStop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }
  uint64_t printed = 0;
  const uint64_t max = options.max_records.value_or(UINT64_MAX);
  std::string out;
  while (true) {
    ONCEFLOW_ASSIGN_OR_RETURN(std::vector<Offset> end, topic->EndOffsets());
    if (positions.size() < end.size()) positions.resize(end.size(), Offset(0));
    for (size_t p = 0; p < end.size() && printed < max; ++p) {
      if (options.partition && static_cast<size_t>(*options.partition) != p) continue;
      if (positions[p] >= end[p]) continue;
      Status s = topic->Read(PartitionId(static_cast<int32_t>(p)), positions[p], end[p],
                             [&](Offset o, const RecordView& r) -> Status {
                               if (printed >= max) return Status::Aborted("max");
                               if (options.print_offsets)
                                 out += fmt::format("{}:{} ", p, o.value());
                               if (options.print_keys && r.key) {
                                 out += *r.key;
                                 out += options.key_separator;
                               }
                               out += r.value;
                               out += '\n';
                               ++printed;
                               return Status::Ok();
                             });
      if (!s.ok() && printed < max) return s;
      positions[p] = end[p];
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
    std::fflush(stdout);
    if (!options.follow || printed >= max || kafka_stop) return Status::Ok();
    topic->WaitForData(positions, std::chrono::milliseconds(200));
    if (kafka_stop) return Status::Ok();
  }
}

}  // namespace onceflow::cli
