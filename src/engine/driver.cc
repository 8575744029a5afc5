// The driver loop: plan a batch, hand it to the BatchRunner, repeat.
#include "engine/driver.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "engine/planner.h"
#include "engine/sink_factory.h"
#include "engine/source_check.h"
#include "engine/source_factory.h"
#include "state/state_format.h"

namespace onceflow::engine {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// splitmix64: a deterministic per-batch seed from the pipeline and the batch id.
uint64_t BatchSeed(const std::string& pipeline, BatchId batch) {
  uint64_t z =
      state::KeyHash(pipeline) + static_cast<uint64_t>(batch.value()) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Driver::Driver(const internal::PipelineSpec& spec, const RunOptions& options,
               const std::atomic<bool>* stop, StatsBox* stats)
    : spec_(spec),
      options_(options),
      stop_(stop),
      stats_(stats),
      sizer_(spec.config.max_records_per_partition, spec.config.adaptive_batch_size) {}

Driver::~Driver() {
  // Stragglers (cancelled attempts) finish before the sink and source they use go away.
  executor_.reset();
}

void Driver::Log(const std::string& line) const {
  if (options_.on_log) {
    options_.on_log(line);
  } else {
    std::fprintf(stderr, "onceflow: %s: %s\n", spec_.config.name.c_str(), line.c_str());
  }
}

Status Driver::Open() {
  const config::PipelineConfig& c = spec_.config;
  // The source first: a wrong topic name leaves no checkpoint behind.
  ONCEFLOW_ASSIGN_OR_RETURN(source_, MakeSource(c, options_.data_dir));
  {
    auto cp = checkpoint::Checkpoint::Open(checkpoint::CheckpointDir(options_.data_dir, c.name));
    // A damaged checkpoint names its file; the way out is to start the pipeline afresh. (Busy:
    // another run holds it; a newer format: another onceflow. Neither needs a reset.)
    if (!cp.has_value()) {
      const bool damaged =
          cp.error().IsCorruption() || (cp.error().IsIoError() && !cp.error().retryable());
      return damaged ? WithWayOut(cp.error(), WayOut()) : cp.error();
    }
    checkpoint_ = std::move(*cp);
  }
  ONCEFLOW_ASSIGN_OR_RETURN(decoder_, operators::RecordDecoder::Create(c.source.records()));
  if (spec_.has_sink) {
    ONCEFLOW_ASSIGN_OR_RETURN(sink_, MakeSink(c.sink, checkpoint_->dir()));
    sink_->SetLog([this](const std::string& line) { Log(line); });
    ONCEFLOW_RETURN_IF_ERROR(sink_->Open());
  }
  int threads = c.executor_threads > 0
                    ? c.executor_threads
                    : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  executor_ = std::make_unique<Executor>(threads);
  ONCEFLOW_RETURN_IF_ERROR(OpenState());
  if (source_->Owned().has_value()) {
    if (spec_.reduce || state_ || !sink_) {
      return Status::InvalidArgument(
          c.name + ": a source shared through a consumer group (source.assign = \"group\") "
                   "needs a sink, and no reduce or keyed state: each process commits only its own "
                   "partitions");
    }
    group_ = std::make_unique<GroupOwnership>(c, source_.get(), sink_.get(), checkpoint_.get(),
                                              stats_, [this](const std::string& l) { Log(l); });
  }
  runner_ = std::make_unique<BatchRunner>(
      spec_, options_, stats_, checkpoint_.get(), source_.get(), decoder_.get(), sink_.get(),
      state_.get(), executor_.get(), [this] { return CommitEpoch(); },
      [this](const std::string& l) { Log(l); });
  // The batch history: informational, so a history that cannot be opened is said once and the
  // pipeline runs without it.
  history_ = HistoryRecorder::Open(checkpoint_->dir(), c.history,
                                   [this](const std::string& l) { Log(l); });
  runner_->set_history(history_.get());
  return Status::Ok();
}

Status Driver::OpenState() {
  if (!spec_.keyed) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(
      state_,
      StateStep::Open(checkpoint_->dir(), spec_.keyed, executor_.get(), spec_.config.state_tasks,
                      static_cast<size_t>(spec_.config.state_cache_mb) << 20));
  return Status::Ok();
}

Epoch Driver::CommitEpoch() const {
  return group_ != nullptr ? group_->epoch() : checkpoint_->epoch();
}

void Driver::SetWatermark(checkpoint::BatchIntent* intent) const {
  if (!state_) return;
  intent->max_event_time_ms = state_->NextMaxEventTime();
  intent->watermark_ms = state_->NextWatermark(intent->ranges, intent->batch_time_ms);
}

checkpoint::BatchIntent Driver::NewIntent(std::vector<OffsetRange> ranges) const {
  checkpoint::BatchIntent intent;
  intent.batch = next_batch_;
  intent.batch_time_ms = NowMs();
  intent.seed = BatchSeed(spec_.config.name, next_batch_);
  intent.ranges = std::move(ranges);
  SetWatermark(&intent);
  return intent;
}

Status Driver::Run() {
  ONCEFLOW_RETURN_IF_ERROR(Open());
  ONCEFLOW_RETURN_IF_ERROR(Recover());
  std::vector<Offset> target;
  if (options_.until_caught_up) {
    ONCEFLOW_ASSIGN_OR_RETURN(target, source_->EndOffsets());
  }
  auto caught_up = [&] {
    for (size_t p = 0; p < target.size(); ++p) {
      if (p >= positions_.size() || positions_[p] < target[p]) return false;
    }
    return true;
  };
  const auto interval = std::chrono::milliseconds(spec_.config.batch_interval_ms);
  int64_t batches = 0;
  int64_t previous_start_ms = -1;  // of the loop's previous pass: a batch is due an interval on
  ComputeAhead ahead(
      [this](const checkpoint::BatchIntent& planned) { return runner_->ComputeTasks(planned); });
  Outage outage(PlanningOutageMessages(), [this](const std::string& line) { Log(line); });
  Status result;
  while (!stop_->load()) {
    if (options_.until_caught_up && group_ == nullptr && caught_up()) {
      result = CloseWindowsAtEnd();
      break;
    }
    if (options_.max_batches >= 0 && batches >= options_.max_batches) break;
    const auto started = std::chrono::steady_clock::now();
    const int64_t start_ms = NowMs();
    // Due when the batch interval since the previous pass ended (at once with a backlog).
    const int64_t due_ms =
        previous_start_ms < 0 ? start_ms : std::min(start_ms, previous_start_ms + interval.count());
    previous_start_ms = start_ms;
    // Step 1, plan: the ranges of batch N (planned already if it was computed ahead).
    std::unique_ptr<ComputeAhead::Batch> current = ahead.Take();
    std::vector<OffsetRange> ranges;
    std::vector<Offset> end;
    if (current != nullptr) {
      ranges = current->planned.ranges;
      end = current->end;
    } else {
      bool done = false;
      Result<bool> planned = PlanNext(target, &outage, &ranges, &end, &done);
      if (!planned.has_value()) return planned.error();
      if (done) break;
      if (!*planned) continue;
    }
    if (Status s = EnsureHeaders(ranges); !s.ok()) {
      result = s;
      break;
    }
    if (group_ == nullptr) {
      result = RecordStarts(ranges);
      if (!result.ok()) break;
    }
    const checkpoint::BatchIntent intent = NewIntent(ranges);
    std::vector<Offset> after = positions_;
    after.resize(std::max(after.size(), ranges.size()));
    bool backlog = false;
    int64_t records = 0;
    int64_t largest = 0;  // of a full batch: the limit it was planned with
    for (const OffsetRange& r : ranges) {
      after[static_cast<size_t>(r.partition.value())] = r.until;
      if (r.until < end[static_cast<size_t>(r.partition.value())]) backlog = true;
      records += r.until.value() - r.from.value();
      largest = std::max(largest, r.until.value() - r.from.value());
    }
    if (history_ != nullptr) {
      history_->Planned(due_ms, start_ms, std::chrono::steady_clock::now() - started, end);
    }
    if (backlog) PlanAhead(after, batches, &ahead);
    // Steps 2 to 6.
    result = runner_->Run(intent, BatchRunner::Intent::kNew,
                          current != nullptr ? &current->outputs : nullptr, &ahead);
    ahead.DropWaiting();
    if (group_ != nullptr && result.code() == StatusCode::kFenced) {
      result = group_->Abandon(intent, result);
      if (!result.ok()) break;
      next_batch_ = BatchId(next_batch_.value() + 1);
      continue;
    }
    if (!result.ok()) break;
    sizer_.Observe(
        largest, records, backlog,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    positions_ = std::move(after);
    source_->ReportPositions(positions_);
    next_batch_ = BatchId(next_batch_.value() + 1);
    ++batches;
    // The batch interval bounds the rate of batch starts (the default 0: none, a batch starts
    // as soon as records are there); with a backlog the next batch starts at once.
    if (!backlog && interval.count() > 0) std::this_thread::sleep_until(started + interval);
  }
  // A batch computed ahead may still be running on the executor: it uses this driver.
  ahead.Wait();
  return result;
}

Result<bool> Driver::PlanNext(const std::vector<Offset>& target, Outage* outage,
                              std::vector<OffsetRange>* ranges, std::vector<Offset>* end,
                              bool* done) {
  const auto idle_wait = std::min<std::chrono::milliseconds>(
      std::max(std::chrono::milliseconds(spec_.config.batch_interval_ms),
               std::chrono::milliseconds(50)),
      std::chrono::milliseconds(200));
  Status synced = group_ != nullptr ? group_->Sync(&positions_, &next_batch_) : Status::Ok();
  Result<source::Source::Bounds> looked = synced.ok() ? source_->OffsetBounds() : Err(synced);
  if (!synced.ok() || !looked.has_value()) {
    // A broker restarting, a leader moving, the sink's server away: wait and plan again.
    // Nothing is planned, so nothing is at stake; anything else stops the pipeline.
    const Status s = synced.ok() ? looked.error() : synced;
    if (!s.retryable()) return Err(s);
    outage->Wait(s, stop_);  // a Stop meanwhile ends the loop at its check
    return false;
  }
  outage->Reset();
  source::Source::Bounds& bounds = *looked;
  *end = std::move(bounds.end);
  std::vector<Offset> from = positions_;
  if (group_ != nullptr) {
    // Partitions of other processes plan nothing: they start at their end.
    from.resize(std::max(from.size(), end->size()), Offset(-1));
    for (size_t p = 0; p < from.size() && p < end->size(); ++p) {
      if (!group_->Owns(PartitionId(static_cast<int32_t>(p)))) from[p] = (*end)[p];
    }
  }
  ONCEFLOW_ASSIGN_OR_RETURN(*ranges,
                            engine::PlanRanges(from, bounds.earliest, *end, sizer_.limit()));
  if (group_ != nullptr && AllEmpty(*ranges)) {
    // Nothing of ours to do. With --until-caught-up, the group as a whole may be done.
    if (options_.until_caught_up) {
      ONCEFLOW_ASSIGN_OR_RETURN(*done, group_->CaughtUp(target));
      if (*done) return false;
    }
    if (group_->partitions().empty()) {
      std::this_thread::sleep_for(idle_wait);
      return false;
    }
  }
  if (AllEmpty(*ranges)) {
    // Idle: sleep until data arrives (or a short timeout, to notice Stop).
    source_->WaitForData(positions_, idle_wait);
    return false;
  }
  return true;
}

void Driver::PlanAhead(const std::vector<Offset>& after, int64_t batches, ComputeAhead* ahead) {
  // A stateful batch's map tasks read no state, so they may run ahead — unless the operator
  // is on event time: the next batch's watermark (which decides its late records) comes from
  // this batch's state.
  const bool stateless_maps = !state_ || !spec_.keyed->on_event_time();
  // Whole-batch functions see the batch's context, whose batch time is only set when the
  // batch is planned for real (NewIntent): they run in the batch's own step 3.
  if (runner_->PerTaskCommits() || !stateless_maps || group_ != nullptr ||
      internal::HasBatchStages(spec_.stages) ||
      (options_.max_batches >= 0 && batches + 1 >= options_.max_batches)) {
    return;
  }
  auto next = source_->OffsetBounds();
  if (!next.has_value()) return;
  auto next_ranges = engine::PlanRanges(after, next->earliest, next->end, sizer_.limit());
  if (!next_ranges.has_value() || AllEmpty(*next_ranges) || !EnsureHeaders(*next_ranges).ok()) {
    return;
  }
  checkpoint::BatchIntent planned;
  planned.batch = BatchId(next_batch_.value() + 1);
  planned.ranges = std::move(*next_ranges);
  // A stateful batch's next map tasks start once its state tasks are done (the executor is
  // free then, for the sink and state commits).
  ahead->Start(std::move(planned), std::move(next->end), /*after_state_step=*/state_ != nullptr);
}

Status Driver::CloseWindowsAtEnd() {
  if (!state_ || !state_->HasWindowsToClose()) return Status::Ok();
  std::vector<OffsetRange> ranges;
  for (size_t p = 0; p < positions_.size(); ++p) {
    ranges.push_back({PartitionId(static_cast<int32_t>(p)), positions_[p], positions_[p]});
  }
  checkpoint::BatchIntent intent = NewIntent(std::move(ranges));
  intent.close_windows = true;
  Log("caught up: batch " + intent.batch.ToString() +
      " closes the event-time windows still open (window.emit_open_windows_at_end)");
  ONCEFLOW_RETURN_IF_ERROR(runner_->Run(intent, BatchRunner::Intent::kNew));
  next_batch_ = BatchId(next_batch_.value() + 1);
  return Status::Ok();
}

}  // namespace onceflow::engine
