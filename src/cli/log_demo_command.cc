// `onceflow demo-log`: produces keyed records to a fresh topic through the Producer, consumes
// them back through PartitionReader, verifies count, order and content, and prints throughput.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "log/partition_reader.h"
#include "log/producer.h"
#include "log/topic.h"
#include "util/crc32c.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

constexpr uint64_t kDistinctKeys = 10000;

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// What a partition holds: its record count and a checksum that depends on the order of its
// records as well as on their keys and values.
struct PartitionDigest {
  uint64_t records = 0;
  uint64_t checksum = 0;

  void Add(const RecordView& r) {
    const uint64_t key = r.key ? crc32c::Value(*r.key) + 1 : 0;  // no key differs from ""
    const uint64_t record = (key << 32) ^ crc32c::Value(r.value) ^ (r.value.size() << 20);
    checksum = (checksum ^ record) * 0x100000001b3ULL + records;
    ++records;
  }
  friend bool operator==(const PartitionDigest&, const PartitionDigest&) = default;
};

// Makes record i: key "key-<i mod kDistinctKeys>", value "<i>-" followed by printable filler,
// `value_bytes` long. The views point into the generator and live until the next call.
class RecordGenerator {
 public:
  explicit RecordGenerator(size_t value_bytes) : value_bytes_(value_bytes) {
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    filler_.resize(4096 + value_bytes);
    for (char& c : filler_) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>('a' + x % 26);
    }
  }

  RecordView Make(uint64_t i, int64_t timestamp_ms) {
    key_.clear();
    fmt::format_to(std::back_inserter(key_), "key-{}", i % kDistinctKeys);
    value_.clear();
    fmt::format_to(std::back_inserter(value_), "{}-", i);
    if (value_.size() < value_bytes_) {
      value_.append(filler_, (i * 7919) % 4096, value_bytes_ - value_.size());
    }
    RecordView r;
    r.key = key_;
    r.value = value_;
    r.timestamp_ms = timestamp_ms;
    return r;
  }

 private:
  size_t value_bytes_;
  std::string filler_;
  std::string key_, value_;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status RunLogDemo(const LogDemoOptions& options) {
  const std::string dir = JoinPath(options.data_dir, "demo");
  ONCEFLOW_RETURN_IF_ERROR(RemoveAll(dir));
  ONCEFLOW_RETURN_IF_ERROR(CreateDirs(dir));
  log::TopicConfig config;
  config.partitions = options.partitions;
  config.log.durability = options.durability;
  ONCEFLOW_ASSIGN_OR_RETURN(auto topic, log::Topic::Create(dir, "demo", config));
  fmt::print("demo: topic 'demo' in {}: {} partitions, durability {}\n", dir, config.partitions,
             log::DurabilityName(config.log.durability));
  fmt::print("producing {} keyed records with {}-byte values...\n", options.records,
             options.value_bytes);
  std::fflush(stdout);

  // Produce, through the same Producer (and batch limits) as `onceflow produce`.
  std::vector<PartitionDigest> produced(static_cast<size_t>(config.partitions));
  uint64_t payload_bytes = 0;
  const ProduceOptions defaults;
  ProducerOptions producer_options;
  producer_options.batch_bytes = defaults.batch_bytes;
  producer_options.batch_records = defaults.batch_records;
  const auto produce_start = Clock::now();
  {
    ONCEFLOW_ASSIGN_OR_RETURN(auto producer, log::Producer::Create(topic.get(), producer_options));
    RecordGenerator gen(options.value_bytes);
    int64_t now = NowMs();
    for (uint64_t i = 0; i < options.records; ++i) {
      if (i % 1024 == 0) now = NowMs();
      RecordView r = gen.Make(i, now);
      PartitionId p;
      ONCEFLOW_RETURN_IF_ERROR(producer->Add(r, &p));
      produced[static_cast<size_t>(p.value())].Add(r);
      payload_bytes += r.key->size() + r.value.size();
    }
    ONCEFLOW_RETURN_IF_ERROR(producer->Close());
    if (producer->records_durable() != options.records) {
      return Status::Corruption(fmt::format("the producer acknowledged {} of {} records",
                                            producer->records_durable(), options.records));
    }
  }
  const double produce_s = Seconds(Clock::now() - produce_start);
  fmt::print("produced {:>10} records in {:7.3f} s: {:>10.0f} records/s, {:7.1f} MB/s of keys "
             "and values ({})\n",
             options.records, produce_s, options.records / produce_s,
             payload_bytes / produce_s / 1e6,
             config.log.durability == log::Durability::kFsync ? "durable: fsynced"
                                                              : "not fsynced: durability none");
  std::fflush(stdout);

  // Consume, as `onceflow consume` does: a read-only view of the topic, partition by partition.
  ONCEFLOW_ASSIGN_OR_RETURN(auto reader_topic, log::Topic::Open(dir, "demo", /*read_only=*/true));
  std::vector<PartitionDigest> consumed(produced.size());
  const auto consume_start = Clock::now();
  for (int32_t p = 0; p < reader_topic->partition_count(); ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, reader_topic->partition(PartitionId(p)));
    log::PartitionReader reader(log, Offset(0));
    PartitionDigest& digest = consumed[static_cast<size_t>(p)];
    RecordView r;
    Offset offset;
    while (true) {
      ONCEFLOW_ASSIGN_OR_RETURN(bool more, reader.Next(&r, &offset));
      if (!more) break;
      if (offset != Offset(static_cast<int64_t>(digest.records))) {
        return Status::Corruption(fmt::format("partition {}: record {} has offset {}", p,
                                              digest.records, offset.value()));
      }
      digest.Add(r);
    }
  }
  const double consume_s = Seconds(Clock::now() - consume_start);
  uint64_t total = 0;
  for (const PartitionDigest& d : consumed) total += d.records;
  fmt::print("consumed {:>10} records in {:7.3f} s: {:>10.0f} records/s\n", total, consume_s,
             total / consume_s);

  for (size_t p = 0; p < produced.size(); ++p) {
    if (produced[p].records != consumed[p].records) {
      return Status::Corruption(fmt::format("partition {}: produced {} records, consumed {}", p,
                                            produced[p].records, consumed[p].records));
    }
    if (!(produced[p] == consumed[p])) {
      return Status::Corruption(fmt::format(
          "partition {}: the records consumed differ from those produced (checksum {:016x} "
          "produced, {:016x} consumed)",
          p, produced[p].checksum, consumed[p].checksum));
    }
  }
  ONCEFLOW_ASSIGN_OR_RETURN(uint64_t disk, DiskUsage(topic->dir()));
  fmt::print("verified {} records: offsets contiguous from 0 and per-partition order and "
             "content equal to what was produced, in {} partitions:",
             total, produced.size());
  for (const PartitionDigest& d : produced) fmt::print(" {}", d.records);
  fmt::print("\non disk  {:.1f} MB ({:.1f} bytes per record, {:.1f} MB of keys and values)\n",
             disk / 1e6, static_cast<double>(disk) / std::max<uint64_t>(total, 1),
             payload_bytes / 1e6);
  return Status::Ok();
}

}  // namespace onceflow::cli
