// PartitionLog: one partition of a topic, an append-only sequence of segments with group
// commit, sparse-index reads, roll, retention and crash recovery.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "log/log_options.h"
#include "log/loss_record.h"
#include "log/record_batch.h"
#include "log/segment.h"
#include "onceflow/ids.h"
#include "onceflow/record.h"
#include "onceflow/status.h"

namespace onceflow::log {

// The batches a read returned: CRC-checked views into a shared buffer.
struct ReadResult {
  std::shared_ptr<const std::string> buffer;
  std::vector<BatchView> batches;  // in offset order; the first holds the offset asked for
  Offset next_offset;              // where the next read continues
  // Set when the offsets asked for were skipped by `topics repair --skip-damaged`: the read
  // returns no batches and next_offset is the first offset after the skipped range.
  std::optional<LossEvent> skipped;
};

// Lifecycle: Open recovers the partition (torn tail truncated, corruption refused) and, unless
// read-only, holds an exclusive lock on its directory until destruction.
//
// Durability: Append returns the offset of its batch only after the batch is durable
// (fdatasync, or written to the OS with Durability::kNone). Readers in this process see only
// durable batches: end_offset() never counts a byte that a crash could take back.
//
// Thread-safety: all methods may be called from any thread. Concurrent appends are group
// committed: the first waiting appender writes everyone's batches with one write and one
// fdatasync while the next group gathers behind it (leveldb's writer queue).
class PartitionLog {
 public:
  static Result<std::unique_ptr<PartitionLog>> Open(const std::string& dir,
                                                    const LogOptions& options);
  ~PartitionLog();

  // Appends one encoded batch (BatchBuilder::Finish) and returns the offset of its first
  // record once durable. A failed write or fdatasync poisons the log: every later append fails
  // until it is reopened (the kernel may have dropped the dirty pages; a failed fdatasync is
  // never retried as if it could succeed). Except a write refused for want of space
  // (IsDiskFull): the group's bytes are cut off again and its appenders get that retryable
  // error; the log takes appends again once space is freed.
  Result<Offset> Append(std::string batch);
  Result<Offset> Append(std::span<const RecordView> records) {
    return Append(EncodeBatch(records));
  }

  // Reads the batch holding `from` and the ones after it, about `max_bytes` in all (always at
  // least one whole batch). Empty at the end of the log; out_of_range below earliest_offset().
  // The batches before a damaged one are returned; a read that starts at a damaged batch is a
  // corruption error naming the file, byte position and offset (and the repair command). A
  // `from` inside a range recorded as skipped returns no batches and result.skipped.
  Result<ReadResult> Read(Offset from, size_t max_bytes) const;

  // Blocks until end_offset() > offset or the timeout passes; returns end_offset(). In
  // read-only mode it polls the files for appends by another process.
  Offset WaitForMore(Offset offset, std::chrono::milliseconds timeout);

  // Deletes sealed segments past the retention limits. Returns how many were deleted.
  Result<int> EnforceRetention(int64_t now_ms);
  // Read-only mode: picks up segments and batches another process appended.
  Status Refresh();

  Offset earliest_offset() const;
  // One past the last durable record: the next offset to be assigned.
  Offset end_offset() const;
  uint64_t size_bytes() const;
  size_t segment_count() const;
  const std::string& dir() const { return dir_; }
  const LogOptions& options() const { return options_; }
  // What recovery cut off at open ("" if nothing): for logs and tests.
  const std::string& recovered_torn_tail() const { return torn_tail_; }
  // The partition's recorded losses (its LOSSES file) as of open: torn tails cut and ranges
  // skipped, oldest first.
  const std::vector<LossEvent>& losses() const { return losses_; }

  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

 private:
  struct Writer;

  PartitionLog(std::string dir, LogOptions options);
  Status Load();
  Status RefreshLocked();
  Status RollLocked();
  int EnforceRetentionLocked(int64_t now_ms);
  void MaybeStartPreallocation();
  std::string TakePreallocatedFile();
  std::shared_ptr<Segment> FindSegmentLocked(Offset offset) const;
  // The skipped range holding `offset`, if any.
  const LossEvent* SkippedRangeAt(Offset offset) const;
  // True if segments ending at `end` and starting at `base` are joined by a skipped range.
  bool SkippedBetween(Offset end, Offset base) const;

  const std::string dir_;
  const LogOptions options_;
  int lock_fd_ = -1;
  std::string torn_tail_;
  // Loaded at open; immutable afterwards (a repair needs the writer's lock, and readers that
  // opened before it see its split segments only after reopening).
  std::vector<LossEvent> losses_;

  mutable std::mutex mu_;
  // Oldest first; back() is the active segment. Guarded by mu_.
  std::vector<std::shared_ptr<Segment>> segments_;
  // Appenders waiting their turn; the front one is the leader doing the I/O. Guarded by mu_.
  std::deque<Writer*> writers_;
  // Set by a failed write or sync; every later append fails with it. Guarded by mu_.
  Status poisoned_;
  std::condition_variable data_cv_;  // signalled when end_offset() advances

  // Background zero-filling of the next segment's file.
  std::thread prealloc_thread_;
  Status prealloc_status_;  // written by the thread, read after join
};

}  // namespace onceflow::log
