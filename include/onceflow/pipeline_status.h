// PipelineStatus: where a pipeline stands, read from its checkpoint, its source and its sink
// without disturbing it (Pipeline::Status; `onceflow status` prints it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/offset_range.h"
#include "onceflow/status.h"

namespace onceflow {

// Options of Pipeline::Status and Pipeline::Verify.
struct AuditOptions {
  // The command that starts the pipeline afresh, named by a refusal's way out (as
  // RunOptions::reset_command). Empty: the way out names the checkpoint directory to delete.
  std::string reset_command;
  // Status only: also read the sink's progress rows (PipelineStatus::sink_progress). This opens
  // the sink (a SQLite file that does not exist is not created); false leaves the sink alone.
  bool read_sink_progress = true;
};

// One input partition of the pipeline's source.
struct PartitionStatus {
  PartitionId partition;
  // The offset up to which the pipeline has committed the partition's input; nullopt when the
  // checkpoint does not know the partition yet (a new partition, or no batch at all).
  std::optional<Offset> committed;
  Offset earliest;  // the source's earliest offset
  Offset end;       // the source's end: the next offset to be written
  // Records not yet committed: end - committed, or end - earliest when committed is nullopt.
  int64_t lag = 0;
};

// A batch whose intent is in the checkpoint but whose commit is not: a restart re-runs it with
// exactly these ranges.
struct UnfinishedBatch {
  BatchId batch;
  std::vector<OffsetRange> ranges;
};

// One progress row of the pipeline in its sink: what a task (a partition in map-only pipelines,
// task 0 otherwise) last committed.
struct SinkTaskProgress {
  int32_t task = 0;
  BatchId last_batch;
  Epoch epoch;
  std::vector<OffsetRange> ranges;  // the input ranges of last_batch
};

struct PipelineStatus {
  std::string pipeline;
  // The checkpoint directory; empty when there is none (the pipeline never ran there).
  std::string checkpoint_dir;
  // The newest batch planned (its intent is durable); nullopt when no batch ever was. epoch
  // and last_committed are meaningful only when it is set.
  std::optional<BatchId> last_intent;
  Epoch epoch;
  std::optional<BatchId> last_committed;
  std::optional<UnfinishedBatch> unfinished;
  // The source's identity as the checkpoint records it (topic and topic id, or Kafka cluster).
  std::string source;
  int32_t source_partitions = 0;
  // Not ok when `run` would refuse to start: the source is not the one the pipeline committed
  // from, or it lost or rewrote committed records. The message is `run`'s one line, with its
  // way out. With a refusal, `partitions` is empty (a lag would mean nothing).
  onceflow::Status refusal;
  // Per source partition, in partition order, and their sums.
  std::vector<PartitionStatus> partitions;
  int64_t total_committed = 0;
  int64_t total_end = 0;
  int64_t total_lag = 0;
  // The sink's progress rows of the pipeline, by task (AuditOptions::read_sink_progress), and
  // why they could not be read (then sink_progress is empty).
  std::vector<SinkTaskProgress> sink_progress;
  onceflow::Status sink_error;
};

}  // namespace onceflow
