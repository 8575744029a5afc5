// A task: one input partition's range of one batch, read from the source, decoded, run
// through the row operators. Computing a task has no side effect, so any number of attempts
// may run (retries, speculative twins); only the commit writes.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "checkpoint/batch_intent.h"
#include "engine/pipeline_spec.h"
#include "history/visibility_sketch.h"
#include "onceflow/batch_history.h"
#include "onceflow/offset_range.h"
#include "operators/keyed_operator.h"
#include "operators/record_decoder.h"
#include "sink/sink.h"
#include "source/source.h"

namespace onceflow::engine {

struct TaskOutput {
  PartitionId partition{-1};  // the input partition the task read
  std::vector<SinkRow> rows;  // in offset order
  std::vector<DeadLetter> dead_letters;
  int64_t records_in = 0;
  // The last record read and its fingerprint (checkpoint::RecordFingerprint; offset -1: none),
  // recorded with the batch's commit so that a later start notices a source that lost or
  // rewrote it.
  checkpoint::PartitionMark last{PartitionId(-1), Offset(-1), 0};
  int64_t not_data = 0;  // records_in that are not data (csv header lines)
  // With a combining keyed operator: the rows folded per key, in place of `rows`.
  std::shared_ptr<const operators::CombinedTask> combined;
  // For the batch history: the ages of the records read (timestamp -> when the task ran), and
  // every attempt of this task (set by RunTasks on the winner's output).
  history::VisibilitySketch visibility;
  int64_t last_timestamp_ms = -1;  // of the last record read (-1: none)
  std::vector<TaskAttemptRecord> attempts;
  // sink::DigestOutput(rows, dead_letters), when TaskContext::digest asked for it.
  std::optional<sink::OutputDigest> digest;
};

// What a task reads and runs: shared by every attempt, owned by the driver.
struct TaskContext {
  source::Source* source;
  const operators::RecordDecoder* decoder;
  std::span<const internal::Stage> stages;
  // A keyed operator that may combine the rows on the map side (KeyedOperator::NewCombiner),
  // and the batch and state layout it needs; nullptr: none.
  const operators::KeyedOperator* keyed = nullptr;
  BatchId batch;
  int64_t watermark_ms = INT64_MIN;
  int32_t state_tasks = 1;
  // The batch history is on: each record's timestamp goes into TaskOutput::visibility.
  bool visibility = false;
  // With whole-batch stages: the batch's context (task and idempotency_key are set per task).
  std::shared_ptr<const BatchContext> batch_ctx;
  // The task's output is committed as it is (map-only): its digest is computed with it.
  bool digest = false;
};

// Computes the task for `range`. Returns aborted if `cancel` becomes true (the task was won by
// another attempt). Fault point: task.
Result<TaskOutput> ComputeTask(const TaskContext& ctx, const OffsetRange& range,
                               const std::atomic<bool>& cancel);

}  // namespace onceflow::engine
