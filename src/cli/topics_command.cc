// `onceflow topics create|list|describe|repair`: topic administration.
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/data_dir.h"
#include "log/loss_record.h"
#include "log/repair.h"
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

// UTC time of a loss record, to the second.
std::string UtcTime(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string LossOffsets(const log::LossEvent& e) {
  if (!e.last_known()) return fmt::format("from {} on", e.first.value());
  return fmt::format("{}..{}", e.first.value(), e.last.value());
}

// Offsets of [earliest, end) that a skipped range covers: they hold no records.
int64_t SkippedOffsets(const std::vector<log::LossEvent>& losses, int64_t earliest, int64_t end) {
  int64_t n = 0;
  for (const log::LossEvent& e : losses) {
    if (e.kind != log::LossKind::kSkipped) continue;
    const int64_t lo = std::max(earliest, e.first.value());
    const int64_t hi = std::min(end, e.last.value() + 1);
    if (hi > lo) n += hi - lo;
  }
  return n;
}

}  // namespace

Status RunTopicsCreate(const TopicsCreateOptions& options) {
  log::TopicConfig config;
  config.partitions = options.partitions;
  config.log = options.log;
  ONCEFLOW_ASSIGN_OR_RETURN(auto topic, log::Topic::Create(options.data_dir, options.name, config));
  fmt::print(stderr, "created topic '{}' with {} partition(s) in {}\n", topic->name(),
             topic->partition_count(), options.data_dir);
  return Status::Ok();
}

Status RunTopicsList(const std::string& data_dir) {
  ONCEFLOW_RETURN_IF_ERROR(RequireDataDir(data_dir));
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> names, log::ListTopics(data_dir));
  for (const std::string& name : names) fmt::print("{}\n", name);
  return Status::Ok();
}

Status RunTopicsDescribe(const std::string& data_dir, const std::string& name) {
  ONCEFLOW_RETURN_IF_ERROR(RequireDataDir(data_dir));
  // Read-only: describing a topic must not disturb (or wait for) a process producing to it.
  ONCEFLOW_ASSIGN_OR_RETURN(auto topic, log::Topic::Open(data_dir, name, /*read_only=*/true));
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
    ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, topic->partition(PartitionId(p)));
    Row row{std::to_string(p)};
    row.earliest = log->earliest_offset().value();
    row.end = log->end_offset().value();
    row.records = row.end - row.earliest - SkippedOffsets(log->losses(), row.earliest, row.end);
    row.segments = log->segment_count();
    row.data_bytes = log->size_bytes();
    ONCEFLOW_ASSIGN_OR_RETURN(row.disk_bytes, PartitionDiskUsage(log->dir()));
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

  // What the partitions lost, from their LOSSES files: torn tails cut at recovery and damaged
  // ranges skipped by `topics repair --skip-damaged`.
  bool header = false;
  for (int32_t p = 0; p < topic->partition_count(); ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, topic->partition(PartitionId(p)));
    for (const log::LossEvent& e : log->losses()) {
      if (!header) {
        fmt::print("\nLOSSES (each partition's LOSSES file)\n");
        constexpr std::string_view kLossHeader = "{:>9}  {:<9}  {:<25}  {:<20}  {}\n";
        fmt::print(kLossHeader, "PARTITION", "KIND", "OFFSETS", "TIME (UTC)", "WHERE AND WHY");
        header = true;
      }
      fmt::print("{:>9}  {:<9}  {:<25}  {:<20}  byte {} of {}: {}\n", p,
                 e.kind == log::LossKind::kTornTail ? "torn tail" : "skipped", LossOffsets(e),
                 UtcTime(e.time_ms), e.byte, e.segment, e.reason);
    }
  }
  if (!header) fmt::print("\nlosses:     none recorded\n");
  return Status::Ok();
}

Status RunTopicsRepair(const TopicsRepairOptions& options) {
  // The configuration only: opening the partitions is what damage may prevent.
  ONCEFLOW_RETURN_IF_ERROR(log::ValidateTopicName(options.name));
  const std::string dir = log::TopicDir(options.data_dir, options.name);
  const std::string meta = JoinPath(dir, "topic.meta");
  auto text = ReadFileToString(meta);
  if (!text.has_value()) {
    if (text.error().IsNotFound()) {
      return Status::NotFound("unknown topic '" + options.name + "' in " + options.data_dir);
    }
    return text.error();
  }
  ONCEFLOW_ASSIGN_OR_RETURN(log::TopicConfig config, log::DecodeTopicMeta(*text, meta));
  std::vector<int32_t> partitions;
  if (options.partition) {
    if (*options.partition < 0 || *options.partition >= config.partitions) {
      return Status::InvalidArgument(
          fmt::format("topic '{}' has {} partition(s): there is no partition {}", options.name,
                      config.partitions, *options.partition));
    }
    partitions.push_back(*options.partition);
  } else {
    for (int32_t p = 0; p < config.partitions; ++p) partitions.push_back(p);
  }
  std::vector<int32_t> damaged;
  for (int32_t p : partitions) {
    const std::string pdir = JoinPath(dir, std::to_string(p));
    if (!PathExists(pdir)) continue;  // never written: nothing to repair
    ONCEFLOW_ASSIGN_OR_RETURN(std::vector<log::LossEvent> found,
                              log::RepairPartition(pdir, config.log, options.skip_damaged));
    for (const log::LossEvent& e : found) {
      fmt::print("topic '{}' partition {}: offsets {} damaged at byte {} of {} ({}){}\n",
                 options.name, p, LossOffsets(e), e.byte, JoinPath(pdir, e.segment), e.reason,
                 options.skip_damaged ? ": recorded as lost, readers skip them" : "");
    }
    if (found.empty()) {
      fmt::print("topic '{}' partition {}: no damage found\n", options.name, p);
    } else {
      damaged.push_back(p);
    }
  }
  std::fflush(stdout);
  if (damaged.empty() || options.skip_damaged) return Status::Ok();
  std::string commands;
  for (int32_t p : damaged) {
    commands += fmt::format("{}onceflow topics repair {} --partition {} --skip-damaged --data {}",
                            commands.empty() ? "" : "; ", options.name, p, options.data_dir);
  }
  return Status::Corruption(fmt::format(
      "topic '{}': {} partition(s) damaged, nothing changed. To skip the damaged ranges "
      "deliberately (their offsets recorded as lost; a pipeline reading across them says so): {}",
      options.name, damaged.size(), commands));
}

}  // namespace onceflow::cli
