// Topic: a topic of onceflow's embedded log — a named set of partitions under
// `<data_dir>/topics/<name>/`, each an ordered, durable sequence of records at offsets 0, 1, 2,
// ... without gaps. What PipelineBuilder::FromLog reads; append to it with a Producer.
//
//   auto topic = onceflow::Topic::Create("data", "transfers", {.partitions = 4});
//   auto producer = onceflow::Producer::Create(topic->get());
//   (*producer)->Send("alice", R"({"from":"alice","to":"bob","amount":10})");
//   onceflow::Status s = (*producer)->Close();  // ok: every record sent is durable, once
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/record.h"
#include "onceflow/status.h"

namespace onceflow {

struct TopicOptions {
  // 1 .. 10000. Fixed at creation: a record's partition is a function of its key and this count.
  int32_t partitions = 1;
};

// Lifecycle: Create or Open, use, destroy. A topic opened for writing (the default) locks its
// partitions against other writing processes until it is destroyed; one opened read-only locks
// nothing and sees what another process appends (offsets are re-read by every call).
// Thread-safety: all methods may be called from several threads at once.
class Topic {
 public:
  // Creates topic `name` (1-249 characters of [A-Za-z0-9._-]) under `data_dir`, which is
  // created if needed. Errors: invalid_argument when the name is bad, the partition count out
  // of range or the topic already exists; io_error from the file system.
  static Result<std::unique_ptr<Topic>> Create(const std::string& data_dir, const std::string& name,
                                               const TopicOptions& options = {});
  // Opens an existing topic (not_found naming it otherwise). With read_only, nothing is locked
  // or changed and another process may be appending; a Producer needs a topic opened for
  // writing.
  static Result<std::unique_ptr<Topic>> Open(const std::string& data_dir, const std::string& name,
                                             bool read_only = false);
  ~Topic();

  const std::string& name() const;
  int32_t partition_count() const;
  // The partition a record with this key goes to: murmur2, as Kafka's default partitioner.
  PartitionId PartitionForKey(std::string_view key) const;

  // The first offset the partition still holds (0 unless retention deleted older records).
  Result<Offset> EarliestOffset(PartitionId partition) const;
  // The offset the partition's next record will get: one past its last durable record.
  Result<Offset> EndOffset(PartitionId partition) const;
  // Up to `max_records` durable records of the partition from offset `from` (fewer at its end).
  // Errors: invalid_argument for a partition out of range, out_of_range for `from` below
  // EarliestOffset, corruption naming the file and offset of damaged data.
  Result<std::vector<Record>> Read(PartitionId partition, Offset from, size_t max_records) const;

  Topic(const Topic&) = delete;
  Topic& operator=(const Topic&) = delete;

 private:
  friend class Producer;
  struct Rep;
  explicit Topic(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace onceflow
