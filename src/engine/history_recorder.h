// HistoryRecorder: the engine's side of the batch history. The driver and the BatchRunner tell
// it when each protocol step of a batch started and ended and what the batch read and wrote; it
// builds one BatchRecord per batch attempt and hands it to the HistoryWriter (src/history).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/batch_intent.h"
#include "config/pipeline_config.h"
#include "engine/task.h"
#include "history/history_writer.h"
#include "history/visibility_sketch.h"
#include "onceflow/batch_history.h"
#include "onceflow/ids.h"
#include "onceflow/offset_range.h"

namespace onceflow::engine {

// Lifecycle: opened by the driver after its checkpoint (whose lock makes it the one writer);
// per batch: Planned (by the driver; not for a batch re-run at recovery), BeginBatch, then per
// attempt BeginAttempt, AddPhase/Computed/FailedTasks, EndAttempt (which writes the record).
// Thread-safety: the driver's thread only.
// Cost: a few clock reads per batch, the tasks' visibility sketches merged, and one record
// written (not fsynced) after the batch's commit record: nothing on the per-record path but
// VisibilitySketch::Add, nothing that can fail the batch.
class HistoryRecorder {
 public:
  using Clock = std::chrono::steady_clock;
  using LogFn = std::function<void(const std::string&)>;
  enum class Phase { kPlanning, kIntent, kCompute, kSinkCommit, kStateCommit, kCommitRecord };

  // Opens the history of `checkpoint_dir` as `config` says. nullptr when it is turned off, or
  // when it cannot be opened: then `log` is told once, naming the path, and the pipeline runs
  // without history.
  static std::unique_ptr<HistoryRecorder> Open(const std::string& checkpoint_dir,
                                               const config::HistoryConfig& config, LogFn log);

  // The driver planned the next batch: when it was due and when planning started (wall clock,
  // ms), how long planning took, and the source's end offsets it saw (index = partition).
  void Planned(int64_t trigger_time_ms, int64_t start_time_ms, Clock::duration planning,
               std::vector<Offset> end);
  // The runner starts batch `intent` (re-run at recovery when `replayed`).
  void BeginBatch(const checkpoint::BatchIntent& intent, bool replayed);
  // Attempt `attempt` (1, 2, ...) of the batch starts.
  void BeginAttempt(int attempt);
  void AddPhase(Phase phase, Clock::duration took);
  // Step 3 is done: its counts, and the map tasks' outputs (attempts and visibility) with the
  // range each task read.
  void Computed(std::span<const TaskOutput> outputs, std::span<const OffsetRange> task_ranges,
                int64_t records_in, int64_t rows_out, int64_t dead_letters, int64_t late);
  // Step 4 found `n` tasks committed before with another output (a non-deterministic re-run).
  void ReplayMismatches(int64_t n) { attempt_.replay_mismatches = n; }
  // The task attempts of a step 3 that failed.
  void FailedTasks(std::vector<TaskAttemptRecord> attempts,
                   std::span<const OffsetRange> task_ranges);
  // The attempt ended: committed when `s` is ok (its commit record is durable), else failed or
  // fenced. Writes its record.
  void EndAttempt(const Status& s, Epoch epoch);

  // Recovery found batch `intent` committed (its commit record durable, or written at
  // recovery when `replayed`) without a committed history record, which a crash lost: writes
  // one from the intent (BatchRecord::reconstructed).
  void RecordRecovered(const checkpoint::BatchIntent& intent, Epoch epoch, bool replayed);
  // The newest committed batch id the history held when opened (nullopt: none).
  std::optional<int64_t> last_committed_at_open() const {
    return writer_->last_committed_at_open();
  }

 private:
  explicit HistoryRecorder(std::unique_ptr<history::HistoryWriter> writer)
      : writer_(std::move(writer)) {}
  // The records per second of the recent committed batches (0: none yet).
  double RecentProcessRate() const;
  void FillPartitions(const checkpoint::BatchIntent& intent, BatchRecord* record) const;

  std::unique_ptr<history::HistoryWriter> writer_;
  // Of the batch being run.
  checkpoint::BatchIntent intent_;
  bool replayed_ = false;
  bool planned_ = false;  // Planned was called for it
  int64_t trigger_time_ms_ = 0, start_time_ms_ = 0;
  Clock::duration planning_{}, intent_took_{};
  std::vector<Offset> end_;
  // Of the attempt being run.
  BatchRecord attempt_;
  // The timestamp of the last record read from each partition (index = partition; -1: none).
  std::vector<int64_t> last_timestamp_ms_;
  history::VisibilitySketch visibility_;
  // (records_in, processing_ms) of the last committed batches, for the drain estimate.
  std::deque<std::pair<int64_t, int64_t>> recent_;
};

}  // namespace onceflow::engine
