// StateStep: the keyed-state part of a batch (docs/protocol.md steps 3 and 5). After the map tasks,
// each row is routed by the hash of its key to one of the pipeline's state tasks — the same
// task for a key in every batch and after every restart, because the number of state tasks is
// fixed when the store is created — and the state tasks run in parallel on the executor, each
// reading the state of the previous batch and buffering its deltas. Nothing is written until
// Commit, which the driver calls only after the sink commit of the same batch.
//
// Event time (watermark.h): the watermark of batch N (recorded in its intent) is the minimum
// over the input partitions that are not idle of their greatest event time in batches < N,
// minus the allowed lateness; a record older than it is late and goes to the dead letters.
// After N's records, the watermark advances (watermark_after) and the windows it has passed
// are closed in the same batch; a batch whose intent says close_windows closes them all. The
// partitions' event times are committed with the state.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "checkpoint/batch_intent.h"
#include "engine/executor.h"
#include "engine/task.h"
#include "operators/keyed_operator.h"
#include "operators/watermark.h"
#include "state/state_store.h"

namespace onceflow::engine {

// A batch's keyed-state result: the output for the sink and the deltas for the store.
struct StateBatch {
  TaskOutput output;                      // rows (state task order), all dead letters
  std::vector<state::StateDelta> deltas;  // one per state task
  std::optional<int64_t> max_event_time;  // after this batch
  operators::EventTimes event_times;      // after this batch (event-time operators)
  int64_t late = 0;                       // records older than the watermark

  // The number of state writes (every task's).
  size_t writes() const { return state::WriteCount(deltas); }
};

// Lifecycle: one per Driver. Thread-safety: the driver thread only (state tasks run on the
// executor inside Compute).
class StateStep {
 public:
  // cache_bytes: the budget of the store's cache of committed values (StateStore::Open).
  static Result<std::unique_ptr<StateStep>> Open(const std::string& checkpoint_dir,
                                                 std::shared_ptr<const operators::KeyedOperator> op,
                                                 Executor* executor, int32_t tasks,
                                                 size_t cache_bytes);

  const state::StateStore& store() const { return *store_; }
  // The event time and watermark batch `store().batch() + 1` records in its intent, given its
  // batch time and ranges (one per input partition).
  int64_t NextMaxEventTime() const;
  int64_t NextWatermark(const std::vector<OffsetRange>& ranges, int64_t batch_time_ms) const;
  // Whether a batch that closes every window would close one: the operator asks for it at the
  // end of `run --until-caught-up` and a window may be open (an event time past the watermark).
  bool HasWindowsToClose() const;

  // Routes the map tasks' rows to the state tasks and runs them. No side effect.
  // close_windows: the intent's flag (closes every open window after the records).
  // REQUIRES: the store is at the batch before ctx.batch_id (CHECKed).
  Result<StateBatch> Compute(const BatchContext& ctx, std::vector<TaskOutput>& map_outputs,
                             bool close_windows = false);
  // Applies the batch's deltas with the marker state_batch = batch (one synced WriteBatch);
  // fills the store's cache with them (result.deltas are left empty).
  Status Commit(BatchId batch, StateBatch& result);
  // The same in two steps (StateStore::Prepare): Prepare may run on another thread while the
  // sink commits; it reads result.deltas only.
  state::PreparedCommit Prepare(BatchId batch, const StateBatch& result) const;
  Status Commit(state::PreparedCommit prepared, StateBatch& result);

 private:
  StateStep(std::unique_ptr<state::StateStore> store,
            std::shared_ptr<const operators::KeyedOperator> op, Executor* executor,
            operators::EventTimes times)
      : store_(std::move(store)),
        op_(std::move(op)),
        executor_(executor),
        times_(std::move(times)) {}

  operators::WatermarkPolicy Policy() const {
    return operators::WatermarkPolicy{op_->allowed_lateness_ms(), op_->idle_timeout_ms()};
  }

  std::unique_ptr<state::StateStore> store_;
  std::shared_ptr<const operators::KeyedOperator> op_;
  Executor* executor_;
  operators::EventTimes times_;  // as committed with the store's batch
};

}  // namespace onceflow::engine
