// BatchRunner: one batch through the commit protocol, its six steps in order
// (docs/protocol.md, "The six steps of batch N"): plan, intent, compute, sink commit, state
// commit, commit record. BatchRunner::Run is the protocol as code; each step is one call.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "engine/compute_ahead.h"
#include "engine/executor.h"
#include "engine/history_recorder.h"
#include "engine/pipeline_spec.h"
#include "engine/state_step.h"
#include "engine/stats_box.h"
#include "engine/task.h"
#include "engine/task_scheduler.h"
#include "onceflow/pipeline.h"
#include "operators/record_decoder.h"
#include "sink/sink.h"
#include "source/source.h"

namespace onceflow::engine {

// Runs the batches the driver plans (and the unfinished one recovery re-runs). Computing a
// batch has no side effect; its effect reaches the sink only in step 4, its keyed state the
// store only in step 5, after the sink; step 6 says "batch N is done".
//
// Lifecycle: made by the driver once it has opened its checkpoint, source, sink and state;
// all pointers outlive the runner. Thread-safety: Run on the driver's thread; ComputeTasks
// also from ComputeAhead's thread (it touches nothing that Run changes).
class BatchRunner {
 public:
  using LogFn = std::function<void(const std::string&)>;
  using EpochFn = std::function<Epoch()>;

  // `sink` and `state` may be null (no sink; a stateless pipeline). `epoch` gives the epoch
  // of this process's commits (the checkpoint's, or the consumer group's generation).
  BatchRunner(const internal::PipelineSpec& spec, const RunOptions& options, StatsBox* stats,
              checkpoint::Checkpoint* checkpoint, source::Source* source,
              const operators::RecordDecoder* decoder, sink::Sink* sink, StateStep* state,
              Executor* executor, EpochFn epoch, LogFn log);

  // Whether step 2 is still to do, or was done before a crash (recovery re-runs the batch).
  enum class Intent { kNew, kRecorded };

  // Runs batch `intent` through the six steps. Steps 3 to 5 are retried whole with the same
  // intent when they fail with a retryable error (max_batch_failures). `computed`: the map
  // tasks' outputs computed ahead, used by the first attempt (may be null). `ahead` (may be
  // null) is told when this batch's state step is done.
  // On error nothing of the batch is recorded as done: a restart resumes with its intent.
  Status Run(const checkpoint::BatchIntent& intent, Intent step2,
             ComputeAhead::Outputs* computed = nullptr, ComputeAhead* ahead = nullptr);

  // Step 3's map tasks of a planned batch (its batch and ranges), as ComputeAhead computes
  // them: no side effect. REQUIRES: !PerTaskCommits() (CHECKed).
  Result<std::vector<TaskOutput>> ComputeTasks(const checkpoint::BatchIntent& planned);

  // commit_mode = "task" applies: each task's output is committed as soon as it wins.
  bool PerTaskCommits() const;

  // The identity of the pipeline's source, written into the sink's progress rows.
  // REQUIRES: set before the first Run.
  void set_source_identity(std::string identity) { source_identity_ = std::move(identity); }
  // Marks of the records before where recovery resumed, for partitions whose checkpoint has
  // none: written with the next commit record.
  void set_baseline_marks(std::vector<checkpoint::PartitionMark> marks) {
    baseline_marks_ = std::move(marks);
  }
  // Where the batches' history records go (null: no history). Must outlive the runner.
  void set_history(HistoryRecorder* history) { history_ = history; }

  BatchRunner(const BatchRunner&) = delete;
  BatchRunner& operator=(const BatchRunner&) = delete;

 private:
  // What step 3 computed for step 4 and 5; built in place (the state's write is prepared on
  // another thread from `state`).
  struct ComputedBatch {
    std::vector<TaskOutput> outputs;  // the map tasks', in task (partition) order
    // Reduce or keyed state: the one task's output of the batch.
    TaskOutput reduced;
    std::optional<StateBatch> state;
    std::vector<checkpoint::PartitionMark> marks;  // the last record each task read
    int64_t records_in = 0, not_data = 0, rows_out = 0, dead = 0;
    std::atomic<int64_t> already{0};  // tasks the sink already held
    // Declared last: destroyed (joined) before `state`, which it reads.
    std::future<state::PreparedCommit> prepared;
  };

  // Step 2: the intent appended to the offsets log and synced; fault point after_intent.
  Status WriteIntent(const checkpoint::BatchIntent& intent);
  // Step 3: the map tasks (or the outputs `computed` ahead), then the reduce or the keyed
  // state step; starts preparing the state's write. With commit_mode = "task", each winning
  // task's output is committed by CommitTaskOutput as it wins.
  Status Compute(const checkpoint::BatchIntent& intent, ComputeAhead::Outputs* computed,
                 ComputeAhead* ahead, ComputedBatch* batch);
  // The map tasks; `already` counts the tasks the sink already held (per-task commits). On
  // error, `*failed_attempts` (if not null) gets the tasks' attempts for the history.
  Result<std::vector<TaskOutput>> RunMapTasks(
      const checkpoint::BatchIntent& intent, std::atomic<int64_t>* already,
      std::vector<TaskAttemptRecord>* failed_attempts = nullptr);
  // Step 4: foreach_batch, then the batch's tasks in one Sink::Commit (nothing with per-task
  // commits: step 3 committed each task).
  Status CommitToSink(const checkpoint::BatchIntent& intent, ComputedBatch* batch);
  // Step 4 of one task, with commit_mode = "task".
  Status CommitTaskOutput(const checkpoint::BatchIntent& intent, const OffsetRange& range,
                          const TaskOutput& out, std::atomic<int64_t>* already);
  // Step 5: the keyed state deltas and the marker state_batch = N, atomically.
  // REQUIRES: a keyed state step (state_ != nullptr) whose Compute succeeded.
  Status CommitState(const checkpoint::BatchIntent& intent, ComputedBatch* batch);
  // Step 6: fault point before_commit_log, the commit record appended and synced, fault point
  // after_commit_log.
  Status WriteCommitRecord(const checkpoint::BatchIntent& intent,
                           const std::vector<checkpoint::PartitionMark>& marks);
  // After a failed attempt: whether to try again (then logs and backs off).
  bool RetryAfter(const checkpoint::BatchIntent& intent, const Status& s, int attempt,
                  int max_attempts);
  // Counts a task's sink outcome: `*already` for a task the sink already held; one that held
  // it with another output (kAlreadyCommittedDiffers) is also reported (a log line and
  // replay_mismatches) and, with on_replay_mismatch = "fail", a final error.
  Status CountOutcome(const sink::TaskCommit& commit, sink::CommitOutcome outcome,
                      std::atomic<int64_t>* already);
  void CountAttempt(const ComputedBatch& batch);
  void CountCommitted(const checkpoint::BatchIntent& intent);
  sink::TaskCommit MakeTaskCommit(const checkpoint::BatchIntent& intent,
                                  std::vector<OffsetRange> ranges, const TaskOutput& out) const;
  BatchContext ContextOf(const checkpoint::BatchIntent& intent) const;

  const internal::PipelineSpec& spec_;
  const RunOptions& options_;
  StatsBox* const stats_;
  checkpoint::Checkpoint* const checkpoint_;
  source::Source* const source_;
  const operators::RecordDecoder* const decoder_;
  sink::Sink* const sink_;
  StateStep* const state_;
  Executor* const executor_;
  const EpochFn epoch_;
  const LogFn log_;

  TaskCounters counters_;
  // Serialises the replay-mismatch log lines (per-task commits report from executor threads).
  std::mutex report_mu_;
  // Replay mismatches of the current attempt, for its history record.
  std::atomic<int64_t> attempt_mismatches_{0};
  HistoryRecorder* history_ = nullptr;
  std::string source_identity_;
  std::vector<checkpoint::PartitionMark> baseline_marks_;
};

}  // namespace onceflow::engine
