// `onceflow topics create|list|describe`: topic administration.
#include <fmt/core.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/pipeline_state.h"
#include "log/topic.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

std::string Limit(int64_t v, std::string_view unit) {
  return v < 0 ? std::string("unlimited") : fmt::format("{} {}", v, unit);
}

// Bytes a partition directory occupies; a partition nobody has written yet occupies nothing.
Result<uint64_t> PartitionDiskUsage(const std::string& dir) {
  auto usage = DiskUsage(dir);
  if (!usage.has_value() && usage.error().IsNotFound()) return 0;
  return usage;
}

}  // namespace

Status RunTopicsCreate(const TopicsCreateOptions& options) {
  log::TopicConfig config;
  config.partitions = options.partitions;
  config.log = options.log;
  ASSIGN_OR_RETURN(auto topic, log::Topic::Create(options.data_dir, options.name, config));
  fmt::print(stderr, "created topic '{}' with {} partition(s) in {}\n", topic->name(),
             topic->partition_count(), options.data_dir);
  return Status::Ok();
}

Status RunTopicsList(const std::string& data_dir) {
  RETURN_IF_ERROR(RequireDataDir(data_dir));
  ASSIGN_OR_RETURN(std::vector<std::string> names, log::ListTopics(data_dir));
  for (const std::string& name : names) fmt::print("{}\n", name);
  return Status::Ok();
}

Status RunTopicsDescribe(const std::string& data_dir, const std::string& name) {
  RETURN_IF_ERROR(RequireDataDir(data_dir));
  // Read-only: describing a topic must not disturb (or wait for) a process producing to it.
  ASSIGN_OR_RETURN(auto topic, log::Topic::Open(data_dir, name, /*read_only=*/true));
  const log::TopicConfig& config = topic->config();
  fmt::print("topic:      {}\n", topic->name());
  fmt::print("directory:  {}\n", topic->dir());
  fmt::print("partitions: {}\n", config.partitions);
  fmt::print("durability: {}\n", log::DurabilityName(config.log.durability));
  fmt::print("segments:   {} bytes\n", config.log.segment_bytes);
  fmt::print("retention:  {}, {}\n", Limit(config.log.retention_bytes, "bytes"),
             Limit(config.log.retention_ms, "ms"));
  fmt::print("\n");

  struct Row {
    std::string partition;
    int64_t earliest = 0, end = 0, records = 0;
    uint64_t segments = 0, data_bytes = 0, disk_bytes = 0;
  };
  std::vector<Row> rows;
  Row total{"total"};
  for (int32_t p = 0; p < topic->partition_count(); ++p) {
    ASSIGN_OR_RETURN(log::PartitionLog * log, topic->partition(PartitionId(p)));
    Row row{std::to_string(p)};
    row.earliest = log->earliest_offset().value();
    row.end = log->end_offset().value();
    row.records = row.end - row.earliest;
    row.segments = log->segment_count();
    row.data_bytes = log->size_bytes();
    ASSIGN_OR_RETURN(row.disk_bytes, PartitionDiskUsage(log->dir()));
    total.records += row.records;
    total.segments += row.segments;
    total.data_bytes += row.data_bytes;
    total.disk_bytes += row.disk_bytes;
    rows.push_back(row);
  }
  // "end" is the next offset to be assigned (Kafka's latest/high watermark).
  constexpr std::string_view kFormat = "{:>9}  {:>12}  {:>12}  {:>12}  {:>8}  {:>14}  {:>14}\n";
  fmt::print(kFormat, "PARTITION", "EARLIEST", "END", "RECORDS", "SEGMENTS", "DATA BYTES",
             "DISK BYTES");
  for (const Row& r : rows) {
    fmt::print(kFormat, r.partition, r.earliest, r.end, r.records, r.segments, r.data_bytes,
               r.disk_bytes);
  }
  fmt::print(kFormat, total.partition, "", "", total.records, total.segments, total.data_bytes,
             total.disk_bytes);
  return Status::Ok();
}

}  // namespace onceflow::cli
