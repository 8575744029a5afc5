// Producer: appends records to a Topic of the embedded log, durably and exactly once per
// acknowledged record — what `onceflow produce` does for lines of stdin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "onceflow/ids.h"
#include "onceflow/record.h"
#include "onceflow/status.h"

namespace onceflow {

class Topic;
namespace log {
class Producer;
}  // namespace log

struct ProducerOptions {
  // A partition's batch is handed to an appender once it holds this many bytes or records...
  size_t batch_bytes = 64u << 10;
  uint32_t batch_records = 10000;
  // ...unless the partition's previous batch is still being appended (an append blocks until
  // fsync): then the batch keeps growing up to this many times those limits (4 MiB, one group
  // commit, by default), so that the batch size adapts to the disk's latency instead of a
  // queue of small fsyncs.
  uint32_t growth_factor = 64;
  // Sealed batches waiting for an appender, over all partitions. Send blocks beyond this.
  size_t max_queued_bytes = 64u << 20;
  // Appender threads: at most this many appends (each to a different partition) in flight.
  int max_in_flight = 8;
};

// Lifecycle: Create starts the appender threads; Send records; Close waits until every record
// sent is durable (or failed) and stops the threads. The destructor closes if needed (and
// drops its status: call Close to know). Send after Close is a programmer error: it aborts.
//
// Guarantee: when Close (or Flush followed by records_durable()) reports a record durable, it
// is in the topic exactly once; the producer never appends a record twice. A record is durable
// (fsynced, as the topic's durability setting says) only once Close returns ok, or once
// records_durable() counts it. After an error nothing more is appended, and the error names
// the partition; records not yet durable then are not in the topic.
//
// Ordering: the records of one partition are appended in the order they were sent. Records
// with a key go to Topic::PartitionForKey(key); records without one stick to one partition
// until its batch is full, then move to the next (round robin per batch).
//
// Thread-safety: Send, Flush and Close must be called from one thread (the producing thread);
// the appends run on the producer's own threads. The accessors may be called from any thread.
class Producer {
 public:
  // "*topic" must be opened for writing and outlive the producer. Errors: invalid_argument for
  // a read-only topic or options that are not positive.
  static Result<std::unique_ptr<Producer>> Create(Topic* topic,
                                                  const ProducerOptions& options = {});
  ~Producer();

  // Queues a record (its bytes are copied) and returns its partition. timestamp_ms: milliseconds
  // since the Unix epoch (0: now). Returns the first append error of any partition, so that the
  // caller stops early.
  Result<PartitionId> Send(std::optional<std::string_view> key, std::string_view value,
                           int64_t timestamp_ms = 0);
  // The same for a record with headers.
  Result<PartitionId> Send(const RecordView& record);
  // Hands every partial batch to the appenders without waiting (for input that pauses).
  Status Flush();
  // Flushes, waits for every append to finish and stops the threads. Returns the first append
  // error, naming the partition. Calling it again returns the same status.
  Status Close();

  uint64_t records_sent() const;
  // Records whose batch is durable.
  uint64_t records_durable() const;

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

 private:
  explicit Producer(std::unique_ptr<log::Producer> impl);
  std::unique_ptr<log::Producer> impl_;
};

}  // namespace onceflow
