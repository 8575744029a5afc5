// Driver: the loop that runs a pipeline (docs/protocol.md): it plans each batch (step 1) and
// hands it to the BatchRunner, which runs the six steps; it waits out outages of the source or
// sink (Outage), follows a consumer group's assignments (GroupOwnership) and lets the next
// batch be computed while this one commits (ComputeAhead). On start it recovers
// (driver_recover.cc): an unfinished batch is re-run with exactly its recorded ranges, batch
// time and seed; planning resumes after the last batch, or from the sink's progress rows when
// they know more than the checkpoint.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "engine/batch_runner.h"
#include "engine/batch_sizer.h"
#include "engine/compute_ahead.h"
#include "engine/executor.h"
#include "engine/group_ownership.h"
#include "engine/history_recorder.h"
#include "engine/outage.h"
#include "engine/pipeline_spec.h"
#include "engine/state_step.h"
#include "engine/stats_box.h"
#include "onceflow/pipeline.h"
#include "operators/record_decoder.h"
#include "sink/sink.h"
#include "source/source.h"

namespace onceflow::engine {

// Lifecycle: one Driver per Pipeline::Run. Thread-safety: Run on one thread; `stop` may be set
// from any thread.
class Driver {
 public:
  Driver(const internal::PipelineSpec& spec, const RunOptions& options,
         const std::atomic<bool>* stop, StatsBox* stats);
  ~Driver();

  Status Run();

 private:
  // Opens the source, the checkpoint (its lock and a new epoch), the sink and the state store,
  // and makes the runner.
  Status Open();
  Status OpenState();

  // Step 1 of a new batch: its ranges, from where the last batch ended to the source's end.
  // Returns false when there is nothing to run now (the source idle, an outage waited out, no
  // partition owned): the caller loops. Sets `*done` when --until-caught-up finds a consumer
  // group's work done.
  Result<bool> PlanNext(const std::vector<Offset>& target, Outage* outage,
                        std::vector<OffsetRange>* ranges, std::vector<Offset>* end, bool* done);
  // The intent of batch next_batch_ reading `ranges`: batch time, seed and watermark.
  checkpoint::BatchIntent NewIntent(std::vector<OffsetRange> ranges) const;
  // With a backlog, plans the batch after this one (reading from `after`) and has `ahead`
  // compute it while this one commits, where that is safe.
  void PlanAhead(const std::vector<Offset>& after, int64_t batches, ComputeAhead* ahead);
  // `run --until-caught-up` with window.emit_open_windows_at_end: once caught up, one batch of
  // empty ranges whose intent says close_windows closes and emits the windows still open. A
  // re-run after a crash re-runs that intent (the sink skips what it holds); once it is
  // committed there is nothing left to close, so a later run adds no such batch.
  Status CloseWindowsAtEnd();
  // The event time and watermark recorded in a new batch's intent.
  // REQUIRES: its ranges and batch time are set.
  void SetWatermark(checkpoint::BatchIntent* intent) const;
  // csv without csv_columns: gives the decoder the header line (offset 0) of every partition
  // that `ranges` read and whose header it lacks; the first header also checks that the
  // transforms' fields can exist (a config error otherwise, naming the key).
  Status EnsureHeaders(const std::vector<OffsetRange>& ranges);
  // The epoch of this process's commits: the checkpoint's, or the group generation.
  Epoch CommitEpoch() const;
  void Log(const std::string& line) const;

  // Recovery (driver_recover.cc).
  Status Recover();
  // At start: refuses a source that is not the one the checkpoint committed from, or that
  // lost or rewrote records already committed; records the source's identity in a checkpoint
  // that has none.
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
  // The sink against the checkpoint at recovery: progress rows of another source, or a sink
  // that lacks output the checkpoint has committed (a database deleted, replaced or restored
  // from an older copy), refuse the start with one line that names the way out.
  Status CheckSinkAtRecovery(const std::map<int32_t, sink::TaskProgress>& progress);
  // Keyed state at recovery: the store, the checkpoint and the sink are at most one batch
  // apart (recovery starts at the state marker).
  Status CheckStateAtRecovery(const std::map<int32_t, sink::TaskProgress>& progress) const;
  // The batch history at recovery: a committed batch whose history record a crash lost gets
  // one (HistoryRecorder::RecordRecovered).
  void RecoverHistory();
  // True if the unfinished batch `intent` is already in the state store (so also in the sink):
  // only its commit record is missing.
  bool StateHolds(const checkpoint::BatchIntent& intent) const;

  const internal::PipelineSpec& spec_;
  const RunOptions& options_;
  const std::atomic<bool>* stop_;
  StatsBox* stats_;

  std::unique_ptr<checkpoint::Checkpoint> checkpoint_;
  std::unique_ptr<source::Source> source_;
  std::unique_ptr<sink::Sink> sink_;
  std::unique_ptr<operators::RecordDecoder> decoder_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<StateStep> state_;          // stateful pipelines only
  std::unique_ptr<GroupOwnership> group_;     // source.assign = "group" only
  std::unique_ptr<HistoryRecorder> history_;  // null: history off (declared before the runner)
  std::unique_ptr<BatchRunner> runner_;
  std::vector<bool> header_set_;  // csv: partitions whose header line the decoder has

  std::vector<Offset> positions_;  // where the next batch starts, per partition
  // Records per partition of the next batch planned (max_records_per_partition the ceiling).
  BatchSizer sizer_;
  std::string source_identity_;  // set by CheckSource before anything is committed
  // Partitions [0, known_partitions_) were read by the checkpoint's batches (or the sink's)
  // before this run; a partition past them records its start when first planned.
  size_t known_partitions_ = 0;
  // Marks of the records before where recovery resumes, for partitions whose checkpoint has
  // none: written with the next commit (handed to the runner once recovery is done).
  std::vector<checkpoint::PartitionMark> baseline_marks_;
  BatchId next_batch_{0};
};

}  // namespace onceflow::engine
