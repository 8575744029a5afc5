// Producer: appends records to a topic in per-partition batches, with several partitions'
// appends in flight at once. The public onceflow::Producer (include/onceflow/producer.h),
// `onceflow produce` and `onceflow demo` all produce through it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "log/record_batch.h"
#include "log/topic.h"
#include "onceflow/ids.h"
#include "onceflow/producer.h"
#include "onceflow/record.h"
#include "onceflow/status.h"

namespace onceflow::log {

// Lifecycle: Create starts the appender threads; Add records; Close waits until every record
// added is durable (or failed) and stops the threads. The destructor closes if needed.
//
// Ordering: the records of one partition are appended in the order they were added, because a
// partition never has more than one append in flight. Records with a key go to
// Topic::PartitionForKey(key); records without one stick to one partition until its batch
// reaches the batch limits, then move to the next partition (round robin per batch).
//
// Thread-safety: Add, Flush and Close must be called from one thread (the producing thread);
// the appends run on the producer's own threads.
class Producer {
 public:
  // "*topic" must outlive the producer and be opened for writing.
  static Result<std::unique_ptr<Producer>> Create(Topic* topic, const ProducerOptions& options);
  ~Producer();

  // Adds a record to its partition's batch and stores that partition in *partition unless
  // null. The record's bytes are copied. Returns the first append error of any partition, so
  // that the caller stops early; then nothing more is appended. REQUIRES: not closed (CHECKed).
  Status Add(const RecordView& record, PartitionId* partition = nullptr);
  // Hands every non-empty batch to the appenders without waiting for them (for input that
  // pauses: what was added so far becomes durable soon).
  Status Flush();
  // Flushes, waits for every append to finish and stops the threads. Returns the first append
  // error, naming the partition. Calling it again returns the same status.
  Status Close();

  uint64_t records_added() const { return records_added_; }
  // Records whose batch is durable (acknowledged by PartitionLog::Append).
  uint64_t records_durable() const;
  // Encoded bytes of the durable batches.
  uint64_t bytes_durable() const;

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

 private:
  struct SealedBatch {
    std::string bytes;
    uint32_t records = 0;
  };
  struct Partition {
    PartitionLog* log = nullptr;
    BatchBuilder builder;           // touched only by the producing thread
    std::deque<SealedBatch> queue;  // oldest first. Guarded by mu_.
    bool in_flight = false;         // its front batch is being appended. Guarded by mu_.
    // in_flight || !queue.empty(): read without mu_ by the producing thread as a hint.
    std::atomic<bool> busy{false};
  };

  Producer(Topic* topic, const ProducerOptions& options);
  // Finishes partition p's batch and queues it for an appender. May block for queue space.
  Status Seal(int32_t p);
  void AppendLoop();

  Topic* const topic_;
  const ProducerOptions options_;
  std::vector<std::unique_ptr<Partition>> partitions_;
  int32_t sticky_ = 0;  // the partition of records without a key
  uint64_t records_added_ = 0;
  bool closed_ = false;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // a partition became ready, or closing_
  std::condition_variable space_cv_;  // queued_bytes_ dropped, or an append failed
  // Partitions with queued batches and no append in flight, in the order they became ready.
  std::deque<int32_t> ready_;
  size_t queued_bytes_ = 0;
  bool closing_ = false;
  uint64_t records_durable_ = 0;
  uint64_t bytes_durable_ = 0;
  // The first append error; once set, queued batches are dropped instead of appended.
  Status status_;
  std::atomic<bool> failed_{false};  // !status_.ok(), readable without mu_
  std::vector<std::thread> appenders_;
};

}  // namespace onceflow::log
