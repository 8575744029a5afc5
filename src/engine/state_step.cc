// The keyed-state step of a batch.
#include "engine/state_step.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>

#include "util/check.h"
#include "util/fault_points.h"

namespace onceflow::engine {

using operators::CombinedTask;
using operators::EventTimes;
using operators::KeyedOperator;
using operators::KeyedRow;
using operators::kNoTime;
using operators::LateMessage;
using operators::StateTaskContext;
using operators::StateTaskOf;

namespace {

// Runs fn(0..n-1) on the executor and waits for all. Returns the first error by index.
Status ParallelFor(Executor* executor, size_t n, const std::function<Status(size_t)>& fn) {
  std::vector<Status> results(n);
  std::mutex mu;
  std::condition_variable cv;
  size_t left = n;
  for (size_t i = 0; i < n; ++i) {
    executor->Submit([&, i] {
      Status s;
      try {
        s = fn(i);
      } catch (const std::exception& e) {
        s = Status::Aborted(std::string("state task threw: ") + e.what());
      }
      std::lock_guard lock(mu);
      results[i] = std::move(s);
      if (--left == 0) cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return left == 0; });
  for (Status& s : results) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<StateStep>> StateStep::Open(const std::string& checkpoint_dir,
                                                   std::shared_ptr<const KeyedOperator> op,
                                                   Executor* executor, int32_t tasks,
                                                   size_t cache_bytes) {
  ONCEFLOW_ASSIGN_OR_RETURN(
      auto store, state::StateStore::Open(state::StateDir(checkpoint_dir), tasks, cache_bytes));
  EventTimes times;
  if (const std::optional<std::string>& stored = store->event_times()) {
    ONCEFLOW_ASSIGN_OR_RETURN(times, EventTimes::Decode(*stored));
  } else if (std::optional<int64_t> max = store->max_event_time(); max && op->on_event_time()) {
    // A store of an older onceflow knows one max event time for the pipeline: it stays the
    // watermark's floor until every partition has event times of its own.
    times.watermark = *max - op->allowed_lateness_ms();
  }
  return std::unique_ptr<StateStep>(
      new StateStep(std::move(store), std::move(op), executor, std::move(times)));
}

int64_t StateStep::NextMaxEventTime() const {
  if (!op_->on_event_time()) return checkpoint::kNoWatermark;
  const int64_t max = times_.MaxEventTime();
  return max != kNoTime ? max : store_->max_event_time().value_or(checkpoint::kNoWatermark);
}

int64_t StateStep::NextWatermark(const std::vector<OffsetRange>& ranges,
                                 int64_t batch_time_ms) const {
  if (!op_->on_event_time()) return checkpoint::kNoWatermark;
  return times_.WatermarkAt(ranges, batch_time_ms, Policy());
}

bool StateStep::HasWindowsToClose() const {
  if (!op_->on_event_time() || !op_->emit_open_windows_at_end()) return false;
  const int64_t max = NextMaxEventTime();
  return max != kNoTime && op_->CloseAllWatermark(max) > times_.watermark;
}

Result<StateBatch> StateStep::Compute(const BatchContext& ctx, std::vector<TaskOutput>& map_outputs,
                                      bool close_windows) {
  // A store behind or ahead of the batch would fold the rows into the wrong state: counts that
  // miss a batch or count one twice, committed without an error.
  ONCEFLOW_CHECK(store_->batch().value() + 1 == ctx.batch_id.value())
      << "state store at batch " << store_->batch().value() << ", computing batch "
      << ctx.batch_id.value();
  const int32_t tasks = store_->tasks();
  const bool event_time = op_->on_event_time();
  // Phase 1, per map task: key, event time, lateness; rows bucketed by state task.
  struct Routed {
    std::vector<std::vector<KeyedRow>> buckets;
    std::vector<DeadLetter> dead;
    int64_t max_time = checkpoint::kNoWatermark;
    int64_t late = 0;
  };
  std::vector<Routed> routed(map_outputs.size());
  // Map-side combined: the map tasks have keyed, checked and bucketed their rows already.
  std::vector<const CombinedTask*> combined;
  for (const TaskOutput& o : map_outputs) {
    if (o.combined) combined.push_back(o.combined.get());
  }
  if (!combined.empty() && combined.size() != map_outputs.size()) {
    return Err(Status::Aborted("state step: some map tasks combined their rows and some did not"));
  }
  for (size_t i = 0; i < combined.size(); ++i) {
    routed[i].max_time = combined[i]->max_event_time;
    routed[i].late = combined[i]->late;
  }
  const size_t to_route = combined.empty() ? map_outputs.size() : 0;
  ONCEFLOW_RETURN_IF_ERROR(ParallelFor(executor_, to_route, [&](size_t i) -> Status {
    Routed& r = routed[i];
    r.buckets.resize(static_cast<size_t>(tasks));
    // Keys spread evenly over the state tasks: one allocation per bucket, not a doubling series.
    const size_t per_task = map_outputs[i].rows.size() / static_cast<size_t>(tasks);
    for (auto& b : r.buckets) b.reserve(per_task + per_task / 8 + 16);
    for (SinkRow& row : map_outputs[i].rows) {
      auto dead = [&](const std::string& why) {
        r.dead.push_back({row.partition, row.offset, row.row.ToJson(), why});
      };
      Result<std::string> key = op_->KeyOf(row.row);
      if (!key.has_value()) {
        dead(key.error().message());
        continue;
      }
      int64_t time = 0;
      if (event_time) {
        Result<int64_t> t = op_->EventTime(row.row);
        if (!t.has_value()) {
          dead(t.error().message());
          continue;
        }
        time = *t;
        if (ctx.watermark_ms != checkpoint::kNoWatermark && time < ctx.watermark_ms) {
          ++r.late;
          dead(LateMessage(time, ctx.watermark_ms, ctx.batch_id));
          continue;
        }
        r.max_time = std::max(r.max_time, time);
      }
      const auto task = static_cast<size_t>(StateTaskOf(*key, tasks));
      r.buckets[task].push_back(KeyedRow{std::move(*key), time, std::move(row)});
    }
    map_outputs[i].rows.clear();
    return Status::Ok();
  }));
  StateBatch result;
  for (const Routed& r : routed) result.late += r.late;
  int64_t watermark_after = checkpoint::kNoWatermark;
  if (event_time) {
    // Per input partition: the greatest event time of its records that were not late, and
    // whether it gave event times at all (late ones too: it is not idle).
    std::map<int32_t, int64_t> seen;
    for (size_t i = 0; i < routed.size(); ++i) {
      const Routed& r = routed[i];
      if (r.max_time == checkpoint::kNoWatermark && r.late == 0) continue;
      int64_t& max = seen.try_emplace(map_outputs[i].partition.value(), kNoTime).first->second;
      max = std::max(max, r.max_time);
    }
    EventTimes times = times_;
    times.watermark = std::max(times.watermark, ctx.watermark_ms);
    times.Advance(ctx.ranges, ctx.batch_time_ms, seen);
    watermark_after = times.WatermarkAt(ctx.ranges, ctx.batch_time_ms, Policy());
    int64_t max_seen = times.MaxEventTime();
    if (!store_->event_times() && store_->max_event_time()) {
      // A store of an older onceflow (one watermark per pipeline): this batch may be the re-run
      // of one that onceflow planned and committed to the sink, so it closes what the old rule
      // closes — the greatest event time so far minus the allowed lateness. Later batches
      // follow the partitions, from this watermark on.
      max_seen = std::max(max_seen, *store_->max_event_time());
      const int64_t lateness = op_->allowed_lateness_ms();
      watermark_after = std::max(
          watermark_after, max_seen < kNoTime + 1 + lateness ? kNoTime + 1 : max_seen - lateness);
    }
    if (close_windows && max_seen != kNoTime) {
      watermark_after = std::max(watermark_after, op_->CloseAllWatermark(max_seen));
    }
    times.watermark = watermark_after;
    if (max_seen != kNoTime) result.max_event_time = max_seen;
    result.event_times = std::move(times);
  }
  // Phase 2, per state task: its rows in map-task (partition) and offset order.
  struct TaskResult {
    std::vector<SinkRow> rows;
    std::vector<DeadLetter> dead;
    state::StateDelta delta;
  };
  std::vector<TaskResult> results(static_cast<size_t>(tasks));
  ONCEFLOW_RETURN_IF_ERROR(ParallelFor(executor_, results.size(), [&](size_t s) -> Status {
    ONCEFLOW_RETURN_IF_ERROR(faults::Hit("task"));
    state::TaskState state(store_.get(), /*op=*/0, static_cast<int32_t>(s));
    StateTaskContext task_ctx{&ctx, watermark_after, &state, &results[s].rows, &results[s].dead};
    if (!combined.empty()) {
      ONCEFLOW_RETURN_IF_ERROR(op_->RunCombined(combined, static_cast<int32_t>(s), task_ctx));
    } else {
      std::vector<KeyedRow> rows;
      size_t n = 0;
      for (const Routed& r : routed) n += r.buckets[s].size();
      rows.reserve(n);
      for (Routed& r : routed) {
        for (KeyedRow& k : r.buckets[s]) rows.push_back(std::move(k));
      }
      ONCEFLOW_RETURN_IF_ERROR(op_->Run(rows, task_ctx));
    }
    results[s].delta = state.TakeDelta();  // the task's writes, sorted, marked with its id
    return Status::Ok();
  }));
  for (TaskOutput& o : map_outputs) {
    result.output.records_in += o.records_in;
    for (auto& d : o.dead_letters) result.output.dead_letters.push_back(std::move(d));
  }
  for (Routed& r : routed) {
    for (auto& d : r.dead) result.output.dead_letters.push_back(std::move(d));
  }
  for (TaskResult& t : results) {
    for (auto& row : t.rows) result.output.rows.push_back(std::move(row));
    for (auto& d : t.dead) result.output.dead_letters.push_back(std::move(d));
    result.deltas.push_back(std::move(t.delta));
  }
  return result;
}

Status StateStep::Commit(BatchId batch, StateBatch& result) {
  return Commit(Prepare(batch, result), result);
}

state::PreparedCommit StateStep::Prepare(BatchId batch, const StateBatch& result) const {
  std::optional<std::string> times;
  if (op_->on_event_time()) times = result.event_times.Encode();
  return store_->Prepare(batch, result.deltas, result.max_event_time, std::move(times));
}

Status StateStep::Commit(state::PreparedCommit prepared, StateBatch& result) {
  // The cache fill (beside or after the write) and the freeing of the deltas: one delta per
  // state task, spread over the executor.
  state::ForEachFn for_each = [this](size_t n, const std::function<void(size_t)>& fn) {
    (void)ParallelFor(executor_, n, [&](size_t i) {
      fn(i);
      return Status::Ok();
    });
  };
  ONCEFLOW_RETURN_IF_ERROR(store_->Commit(std::move(prepared), result.deltas, for_each));
  if (op_->on_event_time()) times_ = result.event_times;
  return Status::Ok();
}

}  // namespace onceflow::engine
