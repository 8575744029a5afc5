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

#include "log/durable_end.h"
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
// durable batches: end_offset() never counts a byte that a crash could take back. The writer
// publishes that end in the partition's DURABLE file (durable_end.h) at open and after every
// group commit, and a read-only opener (another process) never reads past the published end
// while a writer holds the partition; with none alive, it reads the valid data the last writer
// left and fdatasyncs it before returning it: readers in every process see only durable
// batches. A partition without the file (written only by an older onceflow) is read to the end
// of its valid data, as before.
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
  // read-only mode it polls the files (and the published durable end) for appends by another
  // process.
  Offset WaitForMore(Offset offset, std::chrono::milliseconds timeout);

  // Deletes sealed segments past the retention limits. Returns how many were deleted.
  Result<int> EnforceRetention(int64_t now_ms);
  // Read-only mode: picks up segments and batches another process appended, up to the
  // published durable end. Corruption if the published end is below what this reader already
  // returned (records read, then lost by the writer: possible only with durability = none).
  Status Refresh();

  Offset earliest_offset() const;
  // One past the last durable record: the next offset to be assigned (in read-only mode: as of
  // the last Refresh, never past the published durable end).
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
  // Opens the segment files named in `logs` (sorted base offsets). Read-only: only the data
  // before `limit`, the published durable end.
  Status LoadSegments(const std::vector<Offset>& logs, Offset limit);
  // Writer: syncs what recovery kept and publishes the end (DURABLE).
  Status PublishRecoveredEnd();
  // Read-only: the published durable end, or kNoLimit for a partition without one.
  Result<Offset> PublishedEnd();
  // Read-only: whether a writer holds the partition (the OFD lock it takes beside its flock;
  // testing it takes no lock, so a writer starting meanwhile is never refused).
  bool WriterAliveLocked();
  // Read-only, no writer alive: makes what the scan found durable (fdatasync of the last
  // segment, the only one that can hold unsynced data), or goes back to `published`.
  Status SyncFoundLocked(Offset published);
  Status RefreshLocked();
  Status RefreshSegmentsLocked(Offset limit);
  // Read-only: reloads every segment bounded by `limit` (a DURABLE file appeared while the
  // segments were scanned without one).
  Status ReloadLocked(Offset limit);
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

  // The writer's published durable end; null when read-only.
  std::unique_ptr<DurableEndWriter> durable_writer_;
  // Read-only: the published durable end, re-read at every refresh. Guarded by mu_.
  std::unique_ptr<DurableEndReader> durable_reader_;
  // Read-only: the partition's LOCK file, opened to test for a writer (-1: not yet found), and
  // the end this reader made durable itself. Guarded by mu_.
  int lock_probe_fd_ = -1;
  Offset synced_end_{0};

  // Background zero-filling of the next segment's file.
  std::thread prealloc_thread_;
  Status prealloc_status_;  // written by the thread, read after join
};

}  // namespace onceflow::log
