// Checkpoint: a pipeline's local plan — the offsets log (an intent per batch, written before
// the batch runs) and the commits log (a record per batch done), plus its fencing epoch. Both
// logs use the embedded log format and are compacted by retention, so recovery reads only the
// last record of each, whatever the history.
//
// Layout of `<data>/pipelines/<name>/`: checkpoint.meta (format version), LOCK (held by the
// running driver), epoch, source.meta (the source's identity and where each partition started),
// offsets/ and commits/ (partition logs). docs/formats/checkpoint.md.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/batch_intent.h"
#include "checkpoint/source_record.h"
#include "log/partition_log.h"
#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace onceflow::checkpoint {

// Lifecycle: Open locks the directory for this process (a second driver is refused, busy) and
// increments the epoch durably; the lock is released at destruction.
// Thread-safety: used by the driver thread only.
// Durability: WriteIntent and WriteCommit return after fdatasync.
class Checkpoint {
 public:
  static constexpr int kFormatVersion = 1;

  // Opens or creates the checkpoint at `dir`. A checkpoint written by a newer onceflow
  // (format version > kFormatVersion) is refused with an error naming the directory.
  static Result<std::unique_ptr<Checkpoint>> Open(const std::string& dir);
  // Reads a checkpoint without locking it or changing its epoch (status, verify).
  static Result<std::unique_ptr<Checkpoint>> OpenReadOnly(const std::string& dir);
  ~Checkpoint();

  Status WriteIntent(const BatchIntent& intent);
  // Makes this driver's epoch greater than `seen` (durably), e.g. the epoch a sink's progress
  // rows carry after the checkpoint was lost: a new driver must never be fenced by its own
  // pipeline's past.
  Status RaiseEpochAbove(Epoch seen);
  // Records `batch` as done with the marks of the partitions it read (the last record of each
  // non-empty range); the marks of the other partitions are carried over from the previous
  // commit, so the newest commit record holds a mark for every partition ever read.
  Status WriteCommit(BatchId batch, std::span<const PartitionMark> marks = {});
  // Replaces source.meta (atomically, durably). REQUIRES: opened with Open (CHECKed, as for
  // every write here).
  Status WriteSource(const SourceRecord& source);

  // The newest intent (nullopt for a new pipeline) and the newest committed batch.
  const std::optional<BatchIntent>& last_intent() const { return last_intent_; }
  const std::optional<BatchId>& last_commit() const { return last_commit_; }
  // The marks of the newest commit record, sorted by partition (empty for a version-1 record).
  const std::vector<PartitionMark>& marks() const { return marks_; }
  // source.meta: nullopt for a pipeline that has not run a batch yet, or whose checkpoint was
  // written before onceflow recorded its source.
  const std::optional<SourceRecord>& source() const { return source_; }
  // True when the last intent has no commit: recovery must re-run it with its ranges.
  bool has_unfinished_batch() const {
    return last_intent_ && (!last_commit_ || *last_commit_ < last_intent_->batch);
  }
  Epoch epoch() const { return epoch_; }
  const std::string& dir() const { return dir_; }
  // Bytes the two logs occupy (bounded by retention: recovery does not grow with history).
  uint64_t size_bytes() const;

  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

 private:
  explicit Checkpoint(std::string dir) : dir_(std::move(dir)) {}
  Status Load(bool read_only);

  std::string dir_;
  int lock_fd_ = -1;
  bool read_only_ = false;  // OpenReadOnly: every Write* is a programmer error (CHECK)
  Epoch epoch_;
  std::unique_ptr<log::PartitionLog> offsets_;
  std::unique_ptr<log::PartitionLog> commits_;
  std::optional<BatchIntent> last_intent_;
  std::optional<BatchId> last_commit_;
  std::vector<PartitionMark> marks_;
  std::optional<SourceRecord> source_;
};

// The directory of a pipeline's checkpoint under a data directory.
std::string CheckpointDir(const std::string& data_dir, const std::string& pipeline);

}  // namespace onceflow::checkpoint
