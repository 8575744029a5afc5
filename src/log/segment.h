// Segment: one file of a partition's log, holding the batches from its base offset on, plus
// its in-memory sparse index. A partition is a sequence of sealed segments and one active
// segment that takes appends.
//
// Lifecycle: Create (new active segment, possibly adopting a zero-filled preallocated file) or
// OpenActive/OpenSealed on start-up; OnAppended after each durable group write; Seal when the
// log rolls (file truncated to its data, index file written); Remove under retention.
//
// Thread-safety: none of its own. The owning PartitionLog guards the mutable state; positional
// reads (Read) may run concurrently with appends past the bytes they read.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "log/loss_record.h"
#include "log/offset_index.h"
#include "onceflow/ids.h"
#include "onceflow/status.h"
#include "util/file.h"

namespace onceflow::log {

// How the last segment of a partition is recovered on open.
enum class RecoveryMode {
  // Appends follow. A torn tail (an invalid batch with no more than one group write of valid
  // data after it) is truncated; an invalid batch with more valid data after it is corruption.
  kRecover,
  // Appends follow but nothing was promised durable (durability = none): truncate at the first
  // invalid batch.
  kTruncateAtFirstInvalid,
  // A sealed segment was fully durable before it was sealed: any invalid batch is corruption.
  kStrict,
  // Read-only: another process may be appending. The data ends at the first invalid batch, or
  // at the partition's published durable end; nothing is changed on disk.
  kReadOnly,
};

// No bound: every valid batch is read (the writer's own scans).
inline constexpr Offset kNoLimit{std::numeric_limits<int64_t>::max()};

class Segment {
 public:
  // Creates the active segment for `base_offset` in `dir`. When `preallocated` is a path, that
  // zero-filled file is renamed into place (appends then overwrite instead of growing the file).
  static Result<std::shared_ptr<Segment>> Create(const std::string& dir, Offset base_offset,
                                                 const std::string& preallocated,
                                                 uint64_t index_interval_bytes);
  // Opens the last segment of a partition, scanning every batch (CRC-checked) to rebuild the
  // index and find the end of the data, recovering a torn tail as `mode` says. With kReadOnly,
  // the scan stops before the first batch that ends past `limit` (the published durable end).
  static Result<std::shared_ptr<Segment>> OpenActive(const std::string& dir, Offset base_offset,
                                                     uint64_t index_interval_bytes,
                                                     RecoveryMode mode, Offset limit = kNoLimit);
  // Opens a sealed segment from its index file; rebuilds (and, unless read-only, rewrites) the
  // index by scanning when the file is missing or damaged.
  static Result<std::shared_ptr<Segment>> OpenSealed(const std::string& dir, Offset base_offset,
                                                     uint64_t index_interval_bytes, bool read_only);

  // Records a durable write of batches [first, next) occupying [position, position + bytes).
  // `batch_positions` gives the start of each batch for the sparse index.
  void OnAppended(Offset first, Offset next, uint64_t position, uint64_t bytes,
                  int64_t max_timestamp);
  // Adds an index entry for the batch at `position` if it is due (every index_interval bytes).
  void MaybeIndex(Offset batch_base, uint64_t position);

  // Truncates the file to its data, syncs it and writes the index file. After Seal the segment
  // takes no more appends.
  Status Seal();
  // Deletes the segment's files (open readers keep their descriptor).
  Status Remove();
  // Read-only mode: picks up batches another process appended since the last scan, up to the
  // first batch that ends past `limit` (the published durable end).
  Status Refresh(Offset limit);

  // Reads up to n bytes at `position`, not past the data end seen by the caller.
  Result<size_t> Read(uint64_t position, size_t n, char* dst) const {
    return file_.ReadAt(position, n, dst);
  }

  Offset base_offset() const { return base_offset_; }
  Offset next_offset() const { return next_offset_; }
  uint64_t data_end() const { return data_end_; }
  int64_t max_timestamp() const { return max_timestamp_; }
  bool empty() const { return next_offset_ == base_offset_; }
  const OffsetIndex& index() const { return index_; }
  File& file() { return file_; }
  const std::string& path() const { return file_.path(); }
  // Why the last scan cut a torn tail off (empty if it did not): for logs and tests.
  const std::string& torn_tail() const { return torn_tail_; }
  // The loss recorded for that cut (in the partition's LOSSES file), if the last scan cut one.
  const std::optional<LossEvent>& torn_tail_event() const { return torn_tail_event_; }

  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

 private:
  Segment(std::string dir, Offset base_offset, File file, uint64_t index_interval_bytes);
  // Scans batches from data_end_ on (see RecoveryMode), none ending past `limit`; updates the
  // summary and index.
  Status Scan(RecoveryMode mode, Offset limit = kNoLimit);
  // True if a whole valid batch is in the file at `pos` now (re-read from the file).
  Result<bool> ValidBatchNow(uint64_t pos) const;
  // Records the loss of offsets [first, last_next) (last_next -1: unknown end) in the
  // partition's LOSSES file, then truncates the file at `pos` (a torn tail).
  Status TruncateTornTail(uint64_t pos, Offset first, Offset last_next, const std::string& why);

  std::string dir_;
  Offset base_offset_;
  File file_;
  uint64_t index_interval_bytes_;
  OffsetIndex index_;
  Offset next_offset_;
  uint64_t data_end_ = 0;
  int64_t max_timestamp_ = 0;
  // Position of the last indexed batch (or 0): the next entry is due index_interval bytes on.
  uint64_t last_indexed_position_ = 0;
  std::string torn_tail_;
  std::optional<LossEvent> torn_tail_event_;
};

}  // namespace onceflow::log
