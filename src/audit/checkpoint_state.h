// CheckpointState: what a pipeline's checkpoint records — the committed position, the epoch,
// an unfinished batch, the source it committed from — read without its lock, so while the
// pipeline runs. Status, verify, reset and the ledger demo read it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "checkpoint/batch_intent.h"
#include "checkpoint/source_record.h"
#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace onceflow::audit {

// A pipeline's checkpoint, read without its lock (so while the pipeline runs).
struct CheckpointState {
  std::string dir;
  Epoch epoch;
  std::optional<checkpoint::BatchIntent> last_intent;
  std::optional<BatchId> last_commit;
  // The last intent has no commit: a restart re-runs it with exactly its ranges.
  bool unfinished = false;
  // Per partition of the last intent (index = partition): the offset up to which the input is
  // committed: the intent's `until`, or its `from` when the intent is unfinished.
  std::vector<Offset> committed;
  // The source the checkpoint belongs to and where each partition started (nullopt: not
  // recorded), and the marks of the last committed records (checkpoint::Checkpoint).
  std::optional<checkpoint::SourceRecord> source;
  std::vector<checkpoint::PartitionMark> marks;

  // The newest batch whose commit is recorded, or -1.
  int64_t last_committed_batch() const { return last_commit ? last_commit->value() : -1; }
};

// Reads the checkpoint of `pipeline` under `data_dir`; nullopt when there is none (the pipeline
// never ran there). A damaged checkpoint is an error naming its file.
Result<std::optional<CheckpointState>> ReadCheckpointState(const std::string& data_dir,
                                                           const std::string& pipeline);

// A source partition's offsets, freshly read from the files (another process may append).
struct SourcePartition {
  Offset earliest;
  Offset end;  // the next offset to be assigned
};

// Opens `topic` of the embedded log read-only and returns, per partition, its earliest and end
// offsets.
Result<std::vector<SourcePartition>> ReadSourceOffsets(const std::string& data_dir,
                                                       const std::string& topic);

}  // namespace onceflow::audit
