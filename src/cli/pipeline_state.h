// What `status`, `verify` and the ledger demo read about a pipeline without disturbing it: the
// committed position its checkpoint records, and the offsets of its source topic.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/batch_intent.h"
#include "checkpoint/source_record.h"
#include "config/pipeline_config.h"
#include "source/source.h"
#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace onceflow::cli {

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
// never ran there).
Result<std::optional<CheckpointState>> ReadCheckpointState(const std::string& data_dir,
                                                           const std::string& pipeline);

// A source partition's offsets, freshly read from the files (another process may append).
struct SourcePartition {
  Offset earliest;
  Offset end;  // the next offset to be assigned
};

// Opens `topic` read-only and returns, per partition, its earliest and end offsets.
Result<std::vector<SourcePartition>> ReadSourceOffsets(const std::string& data_dir,
                                                       const std::string& topic);

// A pipeline's source opened for a look: a log topic read-only, a Kafka topic without joining
// the consumer group. `partitions` are its offsets at the time of opening.
struct OpenedSource {
  std::unique_ptr<source::Source> source;
  source::Source::Bounds bounds;
  std::vector<SourcePartition> partitions;
};
Result<OpenedSource> OpenPipelineSource(const config::PipelineConfig& config,
                                        const std::string& data_dir);

// The checks `run` makes at start (engine/source_check.h), made by status and verify: the
// source is the one the checkpoint committed from and still holds, unchanged, the records it
// committed. Returns the one line that says what is wrong, naming `way_out`.
// `config_path` and `data_dir` name the reset commands of the way out.
Status CheckPipelineSource(const config::PipelineConfig& config, const CheckpointState& cp,
                           OpenedSource* source, const std::string& config_path,
                           const std::string& data_dir);

// "onceflow reset FILE --yes" (with --data DIR unless DIR is the default): the way out of a
// refusal that needs the pipeline started afresh.
std::string ResetCommand(const std::string& config_path, const std::string& data_dir);
// The sentence of refusals that names it.
std::string ResetAdvice(const std::string& config_path, const std::string& data_dir);
// The sentence of a refusal of lost or rewritten records: reset --accept-loss, or a reset.
std::string LossAdvice(const std::string& config_path, const std::string& data_dir);

// not_found naming `data_dir` when it does not exist: verbs that only read refuse it instead
// of reporting nothing there. The default directory (kDefaultDataDir, when neither --data nor
// $ONCEFLOW_DATA names one) is exempt: before the first topic it is simply empty.
Status RequireDataDir(const std::string& data_dir);

}  // namespace onceflow::cli
