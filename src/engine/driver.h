// Driver: the loop that runs a pipeline's batches through the commit protocol (docs/protocol.md):
// plan, write the intent, run the tasks, commit through the sink, record the commit — and, on
// start, recovery: an unfinished batch is re-run with exactly its recorded ranges, batch time
// and seed; planning resumes after the last batch, or from the sink's progress rows when they
// know more than the checkpoint.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "engine/executor.h"
#include "engine/pipeline_spec.h"
#include "operators/record_decoder.h"
#include "engine/state_step.h"
#include "engine/task_scheduler.h"
#include "onceflow/pipeline.h"
#include "sink/sink.h"
#include "source/source.h"

namespace onceflow::engine {

// Pipeline counters shared between the driver and Pipeline::stats().
struct StatsBox {
  mutable std::mutex mu;
  PipelineStats stats;
  template <typename F>
  void Update(F&& f) {
    std::lock_guard lock(mu);
    f(stats);
  }
  PipelineStats Get() const {
    std::lock_guard lock(mu);
    return stats;
  }
};

// Lifecycle: one Driver per Pipeline::Run. Thread-safety: Run on one thread; `stop` may be set
// from any thread.
class Driver {
 public:
  Driver(const internal::PipelineSpec& spec, const RunOptions& options,
         const std::atomic<bool>* stop, StatsBox* stats);
  ~Driver();

  Status Run();

 private:
  Status Open();
  Status Recover();
  // At start (driver_recover.cc): refuses a source that is not the one the checkpoint
  // committed from, or that lost or rewrote records already committed; records the source's
  // identity in a checkpoint that has none.
  Status CheckSource();
  // Records in source.meta where each partition that no batch has read yet starts.
  Status RecordStarts(const std::vector<OffsetRange>& ranges);
  // Positions recovered from the sink's progress rows are written to the checkpoint (an
  // intent with empty ranges at those positions, and its commit), so that status and verify
  // see them at once.
  Status PersistRecoveredPositions(int64_t batch, const std::vector<bool>& known);
  // The sentence naming the command that starts the pipeline afresh.
  std::string WayOut() const;
  // ... and, for records the source lost, also the one that accepts the loss.
  std::string LossWayOut() const;
  // The sink against the checkpoint at recovery (driver_recover.cc): progress rows of another
  // source, or a sink that lacks output the checkpoint has committed (a database deleted,
  // replaced or restored from an older copy), refuse the start with one line that names the
  // way out.
  Status CheckSinkAtRecovery(const std::map<int32_t, sink::TaskProgress>& progress);
  // The identity of the pipeline's source written into the sink's progress rows (its
  // SourceIdentity::ToString(), read once at start by CheckSource).
  std::string SourceIdentity() const;
  // Keyed state (driver_state.cc): opens the state store of a stateful pipeline; checks at
  // recovery that the store, the checkpoint and the sink are at most one batch apart.
  Status OpenState();
  Status CheckStateAtRecovery(const std::map<int32_t, sink::TaskProgress>& progress) const;
  // True if the unfinished batch `intent` is already in the state store (so also in the sink):
  // only its commit record is missing.
  bool StateHolds(const checkpoint::BatchIntent& intent) const;
  // The event time and watermark recorded in a new batch's intent.
  // REQUIRES: its ranges and batch time are set.
  void SetWatermark(checkpoint::BatchIntent* intent) const;
  // `run --until-caught-up` with window.emit_open_windows_at_end: once caught up, one batch of
  // empty ranges whose intent says close_windows closes and emits the windows still open. A
  // re-run after a crash re-runs that intent (the sink skips what it holds); once it is
  // committed there is nothing left to close, so a later run adds no such batch.
  Status CloseWindowsAtEnd();
  // csv without csv_columns: gives the decoder the header line (offset 0) of every partition
  // that `ranges` read and whose header it lacks; the first header also checks that the
  // transforms' fields can exist (a config error otherwise, naming the key).
  Status EnsureHeaders(const std::vector<OffsetRange>& ranges);
  // Scale-out (driver_group.cc; source.assign = "group"). The consumer group decides which
  // partitions this process owns; on each new assignment the driver claims their progress
  // rows in the sink with the group's generation as the epoch (fencing the previous owners)
  // and resumes each partition where its row ends. The local checkpoint only numbers batches.
  bool Grouped() const { return ownership_.has_value(); }
  Status RecoverGrouped();
  Status SyncOwnership();
  // A batch the sink fenced: another process owns its partitions now. The batch is recorded
  // as done here (its ranges belong to the new owner) and the partitions are claimed again
  // only under a newer generation.
  Status AbandonFenced(const checkpoint::BatchIntent& intent, const Status& fenced);
  // With --until-caught-up: whether the sink holds every partition up to `target`.
  Result<bool> GroupCaughtUp(const std::vector<Offset>& target);
  // The epoch of this process's commits: the checkpoint's, or the group generation.
  Epoch CommitEpoch() const;
  using OutputsFuture = std::future<Result<std::vector<TaskOutput>>>;
  // Runs a batch with whole-batch retries (the first attempt may use outputs computed ahead),
  // then records it in the commits log.
  Status RunBatch(const checkpoint::BatchIntent& intent, OutputsFuture* prefetched = nullptr);
  // Computes the tasks of a batch (in per-task commit mode each winner also commits; `already`
  // counts the tasks the sink already held).
  Result<std::vector<TaskOutput>> ComputeBatch(const checkpoint::BatchIntent& intent,
                                               std::atomic<int64_t>* already);
  // Reduces, calls foreach_batch and commits the outputs through the sink in one transaction.
  Status CommitBatch(const checkpoint::BatchIntent& intent, std::vector<TaskOutput> outputs,
                     int64_t already);
  sink::TaskCommit MakeTaskCommit(const checkpoint::BatchIntent& intent,
                                  std::vector<OffsetRange> ranges, const TaskOutput& out) const;
  bool PerTaskCommits() const;
  Result<sink::CommitOutcome> CommitOne(const sink::TaskCommit& commit);
  BatchContext ContextOf(const checkpoint::BatchIntent& intent) const;
  void Log(const std::string& line) const;

  const internal::PipelineSpec& spec_;
  const RunOptions& options_;
  const std::atomic<bool>* stop_;
  StatsBox* stats_;

  std::unique_ptr<checkpoint::Checkpoint> checkpoint_;
  std::unique_ptr<source::Source> source_;
  std::unique_ptr<sink::Sink> sink_;
  std::unique_ptr<operators::RecordDecoder> decoder_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<StateStep> state_;  // stateful pipelines only
  TaskCounters counters_;
  std::vector<bool> header_set_;  // csv: partitions whose header line the decoder has

  std::vector<Offset> positions_;  // where the next batch starts, per partition
  std::string source_identity_;    // set by CheckSource before anything is committed
  // Partitions [0, known_partitions_) were read by the checkpoint's batches (or the sink's)
  // before this run; a partition past them records its start when first planned.
  size_t known_partitions_ = 0;
  // Marks of the records before where recovery resumes, for partitions whose checkpoint has
  // none: written with the next commit, so that the following start can check them.
  std::vector<checkpoint::PartitionMark> baseline_marks_;
  // Scale-out only: the partitions claimed (epoch -1 before the first assignment), and a
  // generation under which the sink refused this process.
  std::optional<source::Source::Ownership> ownership_;
  Epoch refused_epoch_{-1};
  BatchId next_batch_{0};
  // A stateful pipeline's next batch is computed ahead only once this batch's state step is
  // done (the executor is free then, for the sink and state commits): CommitBatch starts it.
  std::function<void()> start_ahead_;
};

}  // namespace onceflow::engine
