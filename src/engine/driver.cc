// The driver loop and recovery.
#include "engine/driver.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <thread>
#include <unordered_map>

#include "engine/outage.h"
#include "engine/planner.h"
#include "engine/sink_factory.h"
#include "engine/source_check.h"
#include "engine/source_factory.h"
#include "log/partition_log.h"
#include "util/fault_points.h"

namespace onceflow::engine {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// splitmix64: a deterministic per-batch seed from the pipeline and the batch id.
uint64_t BatchSeed(const std::string& pipeline, BatchId batch) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : pipeline) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  uint64_t z = h + static_cast<uint64_t>(batch.value()) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The reduce key of a row: its key fields' values, unambiguously joined. A row without one of
// the fields is invalid_argument naming it (a dead letter, not a group of its own).
Result<std::string> ReduceKey(const Row& row, const std::vector<std::string>& fields) {
  std::string key;
  for (const std::string& f : fields) {
    const Value* v = row.Get(f);
    if (v == nullptr) {
      return Err(Status::InvalidArgument("key_by: field '" + f + "' is missing"));
    }
    key += std::to_string(v->index()) + ValueToString(*v);
    key += '\x1f';
  }
  return key;
}

}  // namespace

Driver::Driver(const internal::PipelineSpec& spec, const RunOptions& options,
               const std::atomic<bool>* stop, StatsBox* stats)
    : spec_(spec), options_(options), stop_(stop), stats_(stats) {}

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
  if (source_->Owned().has_value()) ownership_ = source::Source::Ownership{};
  {
    auto cp = checkpoint::Checkpoint::Open(checkpoint::CheckpointDir(options_.data_dir, c.name));
    // A damaged checkpoint names its file; the way out is to start the pipeline afresh. (Busy:
    // another run holds it; a newer format: another onceflow. Neither needs a reset.)
    if (!cp.has_value()) {
      const bool damaged = cp.error().IsCorruption() ||
                           (cp.error().IsIoError() && !cp.error().retryable());
      return damaged ? WithWayOut(cp.error(), WayOut()) : cp.error();
    }
    checkpoint_ = std::move(*cp);
  }
  ONCEFLOW_ASSIGN_OR_RETURN(decoder_, operators::RecordDecoder::Create(c.source.records()));
  if (spec_.has_sink) {
    ONCEFLOW_ASSIGN_OR_RETURN(sink_, MakeSink(c.sink));
    ONCEFLOW_RETURN_IF_ERROR(sink_->Open());
  }
  int threads = c.executor_threads > 0
                    ? c.executor_threads
                    : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  executor_ = std::make_unique<Executor>(threads);
  ONCEFLOW_RETURN_IF_ERROR(OpenState());
  if (Grouped() && (spec_.reduce || state_ || !sink_)) {
    return Status::InvalidArgument(
        c.name + ": a source shared through a consumer group (source.assign = \"group\") needs "
        "a sink, and no reduce or keyed state: each process commits only its own partitions");
  }
  return Status::Ok();
}

BatchContext Driver::ContextOf(const checkpoint::BatchIntent& intent) const {
  BatchContext ctx;
  ctx.pipeline = spec_.config.name;
  ctx.batch_id = intent.batch;
  ctx.batch_time_ms = intent.batch_time_ms;
  ctx.watermark_ms = intent.watermark_ms;
  ctx.seed = intent.seed;
  ctx.epoch = CommitEpoch();
  ctx.ranges = intent.ranges;
  return ctx;
}

std::string Driver::WayOut() const {
  if (!options_.reset_command.empty()) {
    return "To start it afresh from its starting_offsets (its sink's output rows stay), run '" +
           options_.reset_command + "'";
  }
  return "To start it afresh, delete its checkpoint directory " +
         checkpoint::CheckpointDir(options_.data_dir, spec_.config.name) +
         " and the sink's progress rows of the pipeline";
}

std::string Driver::LossWayOut() const {
  const std::string& reset = options_.reset_command;
  constexpr std::string_view kYes = " --yes";
  if (reset.size() < kYes.size() || !reset.ends_with(kYes)) return WayOut();
  std::string accept = reset;
  accept.insert(accept.size() - kYes.size(), " --accept-loss");
  return engine::LossWayOut(accept, reset);
}

Result<sink::CommitOutcome> Driver::CommitOne(const sink::TaskCommit& commit) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto outcomes, sink_->Commit(std::span<const sink::TaskCommit>(&commit, 1)));
  return outcomes.at(0);
}

Result<std::vector<TaskOutput>> Driver::ComputeBatch(const checkpoint::BatchIntent& intent,
                                                    std::atomic<int64_t>* already) {
  const config::PipelineConfig& c = spec_.config;
  std::vector<OffsetRange> ranges;
  for (const OffsetRange& r : intent.ranges) {
    if (r.from < r.until) ranges.push_back(r);
  }
  const bool per_task = PerTaskCommits();
  TaskContext task_ctx{};
  task_ctx.source = source_.get();
  task_ctx.decoder = decoder_.get();
  task_ctx.stages = spec_.stages;
  if (state_) {
    task_ctx.keyed = spec_.keyed.get();
    task_ctx.batch = intent.batch;
    task_ctx.watermark_ms = intent.watermark_ms;
    task_ctx.state_tasks = state_->store().tasks();
  }
  // Cancelled losers may still be computing after RunTasks returns: `compute` owns copies of
  // what it uses (the source and decoder it points to live as long as the executor).
  ComputeFn compute = [task_ctx, ranges](size_t t, int, const std::atomic<bool>& cancel) {
    return ComputeTask(task_ctx, ranges[t], cancel);
  };
  // `finish` runs only for a winner, before RunTasks returns: it may use this frame.
  FinishFn finish = [&, ranges, per_task](size_t t, int, const TaskOutput& out) -> Status {
    if (!per_task) return Status::Ok();
    ONCEFLOW_ASSIGN_OR_RETURN(sink::CommitOutcome o,
                     CommitOne(MakeTaskCommit(intent, {ranges[t]}, out)));
    if (o == sink::CommitOutcome::kAlreadyCommitted) already->fetch_add(1);
    return Status::Ok();
  };
  TaskPolicy policy{c.max_task_failures, c.speculation, c.speculation_multiplier,
                    std::chrono::milliseconds(c.speculation_min_ms)};
  return RunTasks(executor_.get(), ranges.size(), compute, finish, policy, &counters_);
}

sink::TaskCommit Driver::MakeTaskCommit(const checkpoint::BatchIntent& intent,
                                        std::vector<OffsetRange> ranges,
                                        const TaskOutput& out) const {
  sink::TaskCommit tc;
  tc.pipeline = spec_.config.name;
  // A map-only task reads one partition and is named after it; a reduce or a stateful
  // operator commits as task 0.
  tc.task = ranges.size() == 1 && !spec_.reduce && !state_ ? ranges[0].partition.value() : 0;
  tc.batch = intent.batch;
  tc.epoch = CommitEpoch();
  tc.ranges = std::move(ranges);
  tc.source = SourceIdentity();
  tc.rows = out.rows;
  tc.dead_letters = out.dead_letters;
  return tc;
}

bool Driver::PerTaskCommits() const {
  return spec_.config.commit_mode == config::CommitMode::kTask && !spec_.reduce && !state_ && sink_;
}

Status Driver::CommitBatch(const checkpoint::BatchIntent& intent,
                           std::vector<TaskOutput> outputs, int64_t already) {
  // A stateful batch, like a reduce, is committed as one task with all the ranges.
  const bool reduce = static_cast<bool>(spec_.reduce) || state_ != nullptr;
  std::vector<OffsetRange> ranges;
  for (const OffsetRange& r : intent.ranges) {
    if (r.from < r.until) ranges.push_back(r);
  }
  int64_t records_in = 0, not_data = 0, rows_out = 0, dead = 0;
  for (const TaskOutput& o : outputs) {
    records_in += o.records_in;
    not_data += o.not_data;
    rows_out += static_cast<int64_t>(o.rows.size());
    dead += static_cast<int64_t>(o.dead_letters.size());
  }
  // Per-batch reduction by key, in task (partition) and offset order: deterministic.
  TaskOutput reduced;
  std::optional<StateBatch> state_batch;
  if (state_) {
    ONCEFLOW_ASSIGN_OR_RETURN(state_batch,
                     state_->Compute(ContextOf(intent), outputs, intent.close_windows));
    if (start_ahead_) std::exchange(start_ahead_, nullptr)();
    reduced = std::move(state_batch->output);
    rows_out = static_cast<int64_t>(reduced.rows.size());
    dead = static_cast<int64_t>(reduced.dead_letters.size());
  } else if (reduce) {
    std::unordered_map<std::string, size_t> index;
    for (TaskOutput& o : outputs) {
      for (SinkRow& r : o.rows) {
        Result<std::string> key = ReduceKey(r.row, spec_.key_by);
        if (!key.has_value()) {
          reduced.dead_letters.push_back({r.partition, r.offset, r.row.ToJson(),
                                          key.error().message()});
          continue;
        }
        auto [it, inserted] = index.emplace(std::move(*key), reduced.rows.size());
        if (inserted) {
          reduced.rows.push_back({std::move(r.row), PartitionId(-1), Offset(-1)});
        } else {
          Row& acc = reduced.rows[it->second].row;
          acc = spec_.reduce(std::move(acc), r.row);
        }
      }
      for (DeadLetter& d : o.dead_letters) reduced.dead_letters.push_back(std::move(d));
    }
    rows_out = static_cast<int64_t>(reduced.rows.size());
    dead = static_cast<int64_t>(reduced.dead_letters.size());
  }
  // The state's write is built while the sink commits (it reads only the deltas, the sink only
  // the rows); on a thread of its own, for the executor may be busy with the next batch's map
  // tasks. A small batch is not worth a thread: it is built at the commit.
  std::future<state::PreparedCommit> prepared;
  if (state_batch && state_batch->writes() >= state::StateStore::kOverlapMinWrites) {
    prepared = std::async(std::launch::async,
                          [&] { return state_->Prepare(intent.batch, *state_batch); });
  }
  if (spec_.foreach_batch) {
    std::vector<Row> rows;
    if (reduce) {
      for (const auto& r : reduced.rows) rows.push_back(r.row);
    } else {
      for (const auto& o : outputs) {
        for (const auto& r : o.rows) rows.push_back(r.row);
      }
    }
    ONCEFLOW_RETURN_IF_ERROR(spec_.foreach_batch(ContextOf(intent), rows));
  }
  if (sink_ && !PerTaskCommits()) {
    std::vector<sink::TaskCommit> commits;
    if (reduce) {
      // All partitions' ranges, empty ones too, so the sink checks every one for gaps.
      commits.push_back(MakeTaskCommit(intent, intent.ranges, reduced));
    } else {
      for (size_t t = 0; t < ranges.size(); ++t) {
        commits.push_back(MakeTaskCommit(intent, {ranges[t]}, outputs[t]));
      }
    }
    if (!commits.empty()) {
      ONCEFLOW_ASSIGN_OR_RETURN(auto outcomes, sink_->Commit(commits));
      for (auto o : outcomes) {
        if (o == sink::CommitOutcome::kAlreadyCommitted) ++already;
      }
    }
  }
  // Step 5: the state commit, only after the sink commit (docs/protocol.md). A crash before it leaves
  // the state one batch behind the sink; recovery re-runs the batch from the state before it.
  if (state_batch) {
    ONCEFLOW_RETURN_IF_ERROR(prepared.valid() ? state_->Commit(prepared.get(), *state_batch)
                                     : state_->Commit(intent.batch, *state_batch));
  }
  const int64_t late = state_batch ? state_batch->late : 0;
  stats_->Update([&](PipelineStats& s) {
    s.late_records += late;
    s.records_in += records_in;
    s.header_records += not_data;
    s.rows_out += rows_out;
    s.dead_letters += dead;
    s.already_committed += already;
  });
  return Status::Ok();
}

Status Driver::RunBatch(const checkpoint::BatchIntent& intent, OutputsFuture* prefetched) {
  const int max_attempts = std::max(1, spec_.config.max_batch_failures);
  Status s;
  // The marks of the records the batch read last, committed with it (baseline marks first:
  // the batch's own replace them).
  std::vector<checkpoint::PartitionMark> marks = baseline_marks_;
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    std::atomic<int64_t> already{0};
    Result<std::vector<TaskOutput>> outputs =
        attempt == 1 && prefetched != nullptr ? prefetched->get() : ComputeBatch(intent, &already);
    if (outputs.has_value()) {
      marks.resize(baseline_marks_.size());
      for (const TaskOutput& o : *outputs) {
        if (o.last.offset.value() >= 0) marks.push_back(o.last);
      }
    }
    s = outputs.has_value() ? CommitBatch(intent, std::move(*outputs), already.load())
                            : outputs.error();
    if (s.ok()) break;
    if (!s.retryable() || attempt == max_attempts) break;
    stats_->Update([](PipelineStats& st) { ++st.batch_retries; });
    Log("batch " + intent.batch.ToString() + " attempt " + std::to_string(attempt) +
        " failed, retrying: " + s.ToString());
    std::this_thread::sleep_for(std::chrono::milliseconds(20 << std::min(attempt, 6)));
  }
  stats_->Update([&](PipelineStats& st) {
    st.task_attempts = counters_.attempts.load();
    st.task_failures = counters_.failures.load();
    st.speculative_attempts = counters_.speculative.load();
  });
  if (!s.ok()) {
    return s.WithContext("batch " + intent.batch.ToString() + " failed" +
                         (s.retryable() ? " " + std::to_string(max_attempts) + " times" : "") +
                         "; nothing was committed past batch " +
                         std::to_string(intent.batch.value() - 1) + ", and a restart resumes there");
  }
  // Step 5, the state commit, is in CommitBatch, right after the sink commit.
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("after_state_commit"));
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("before_commit_log"));
  ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteCommit(intent.batch, marks));
  baseline_marks_.clear();
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("after_commit_log"));
  stats_->Update([&](PipelineStats& st) {
    ++st.batches_committed;
    st.last_batch = intent.batch;
  });
  if (options_.on_batch_committed) options_.on_batch_committed(ContextOf(intent), stats_->Get());
  return Status::Ok();
}

Status Driver::CloseWindowsAtEnd() {
  if (!state_ || !state_->HasWindowsToClose()) return Status::Ok();
  checkpoint::BatchIntent intent;
  intent.batch = next_batch_;
  intent.batch_time_ms = NowMs();
  intent.seed = BatchSeed(spec_.config.name, next_batch_);
  for (size_t p = 0; p < positions_.size(); ++p) {
    intent.ranges.push_back({PartitionId(static_cast<int32_t>(p)), positions_[p], positions_[p]});
  }
  SetWatermark(&intent);
  intent.close_windows = true;
  Log("caught up: batch " + intent.batch.ToString() +
      " closes the event-time windows still open (window.emit_open_windows_at_end)");
  ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteIntent(intent));
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("after_intent"));
  ONCEFLOW_RETURN_IF_ERROR(RunBatch(intent));
  next_batch_ = BatchId(next_batch_.value() + 1);
  return Status::Ok();
}

Status Driver::Run() {
  ONCEFLOW_RETURN_IF_ERROR(Open());
  ONCEFLOW_RETURN_IF_ERROR(Recover());
  const config::PipelineConfig& c = spec_.config;
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
  const auto interval = std::chrono::milliseconds(c.batch_interval_ms);
  int64_t batches = 0;
  // The next batch, computed while this one commits (with a backlog, in batch commit mode).
  // Computing has no side effect, so it may run before its intent exists; the intent is then
  // written with exactly the ranges computed.
  struct Ahead {
    checkpoint::BatchIntent intent;
    std::vector<Offset> end;
    OutputsFuture outputs;
  };
  std::unique_ptr<Ahead> ahead;
  Status result;
  Outage outage;
  const auto idle_wait = std::min<std::chrono::milliseconds>(
      std::max(interval, std::chrono::milliseconds(50)), std::chrono::milliseconds(200));
  while (!stop_->load()) {
    if (options_.until_caught_up && !Grouped() && caught_up()) {
      result = CloseWindowsAtEnd();
      break;
    }
    if (options_.max_batches >= 0 && batches >= options_.max_batches) break;
    const auto started = std::chrono::steady_clock::now();
    std::unique_ptr<Ahead> current = std::move(ahead);
    if (current && !current->outputs.valid()) current.reset();  // never started: plan anew
    std::vector<OffsetRange> ranges;
    std::vector<Offset> end;
    if (current) {
      ranges = current->intent.ranges;
      end = current->end;
    } else {
      Status synced = SyncOwnership();
      Result<source::Source::Bounds> looked =
          synced.ok() ? source_->OffsetBounds() : Err(synced);
      if (!synced.ok() || !looked.has_value()) {
        // A broker restarting, a leader moving, the sink's server away: wait and plan again.
        // Nothing is planned, so nothing is at stake; anything else stops the pipeline.
        const Status s = synced.ok() ? looked.error() : synced;
        if (!s.retryable()) return s;
        outage.Wait(s, [this](const std::string& line) { Log(line); });
        continue;
      }
      outage.Reset([this](const std::string& line) { Log(line); });
      source::Source::Bounds& bounds = *looked;
      end = std::move(bounds.end);
      std::vector<Offset> from = positions_;
      if (Grouped()) {
        // Partitions of other processes plan nothing: they start at their end.
        from.resize(std::max(from.size(), end.size()), Offset(-1));
        for (size_t p = 0; p < from.size() && p < end.size(); ++p) {
          if (!std::binary_search(ownership_->partitions.begin(), ownership_->partitions.end(),
                                  PartitionId(static_cast<int32_t>(p)))) {
            from[p] = end[p];
          }
        }
      }
      ONCEFLOW_ASSIGN_OR_RETURN(ranges, PlanRanges(from, bounds.earliest, end, c.max_records_per_partition));
      if (Grouped() && AllEmpty(ranges)) {
        // Nothing of ours to do. With --until-caught-up, the group as a whole may be done.
        if (options_.until_caught_up) {
          ONCEFLOW_ASSIGN_OR_RETURN(bool done, GroupCaughtUp(target));
          if (done) break;
        }
        if (ownership_->partitions.empty()) {
          std::this_thread::sleep_for(idle_wait);
          continue;
        }
      }
      if (AllEmpty(ranges)) {
        // Idle: sleep until data arrives (or a short timeout, to notice Stop).
        source_->WaitForData(positions_, idle_wait);
        continue;
      }
    }
    if (Status s = EnsureHeaders(ranges); !s.ok()) {
      result = s;
      break;
    }
    if (!Grouped()) {
      result = RecordStarts(ranges);
      if (!result.ok()) break;
    }
    checkpoint::BatchIntent intent;
    intent.batch = next_batch_;
    intent.batch_time_ms = NowMs();
    intent.seed = BatchSeed(c.name, next_batch_);
    intent.ranges = ranges;
    SetWatermark(&intent);
    // Step 2: before this, batch N does not exist; after it, N completes with these ranges.
    result = checkpoint_->WriteIntent(intent);
    if (result.ok()) result = faults::Hit("after_intent");
    if (!result.ok()) break;
    std::vector<Offset> after = positions_;
    after.resize(std::max(after.size(), ranges.size()));
    bool backlog = false;
    for (const OffsetRange& r : ranges) {
      after[static_cast<size_t>(r.partition.value())] = r.until;
      if (r.until < end[static_cast<size_t>(r.partition.value())]) backlog = true;
    }
    // A stateful batch's map tasks read no state, so they may run ahead — unless the operator
    // is on event time: the next batch's watermark (which decides its late records) comes
    // from this batch's state.
    const bool stateless_maps = !state_ || !spec_.keyed->on_event_time();
    if (backlog && !PerTaskCommits() && stateless_maps && !Grouped() &&
        (options_.max_batches < 0 || batches + 1 < options_.max_batches)) {
      auto next = source_->OffsetBounds();
      if (next.has_value()) {
        auto next_ranges = PlanRanges(after, next->earliest, next->end, c.max_records_per_partition);
        if (next_ranges.has_value() && !AllEmpty(*next_ranges) &&
            EnsureHeaders(*next_ranges).ok()) {
          ahead = std::make_unique<Ahead>();
          ahead->intent.batch = BatchId(next_batch_.value() + 1);
          ahead->intent.ranges = std::move(*next_ranges);
          ahead->end = std::move(next->end);
          Ahead* a = ahead.get();
          auto start = [this, a] {
            a->outputs = std::async(std::launch::async, [this, a] {
              std::atomic<int64_t> unused{0};  // per-task commits never run ahead
              return ComputeBatch(a->intent, &unused);
            });
          };
          if (state_) {
            start_ahead_ = start;  // once this batch's state tasks are done (CommitBatch)
          } else {
            start();
          }
        }
      }
    }
    result = RunBatch(intent, current ? &current->outputs : nullptr);
    start_ahead_ = nullptr;
    if (Grouped() && result.code() == StatusCode::kFenced) {
      result = AbandonFenced(intent, result);
      if (!result.ok()) break;
      next_batch_ = BatchId(next_batch_.value() + 1);
      continue;
    }
    if (!result.ok()) break;
    positions_ = std::move(after);
    source_->ReportPositions(positions_);
    next_batch_ = BatchId(next_batch_.value() + 1);
    ++batches;
    // The batch interval is a trigger: with a backlog the next batch starts at once.
    if (!backlog) std::this_thread::sleep_until(started + interval);
  }
  // A batch computed ahead may still be running on the executor: it uses this driver.
  if (ahead && ahead->outputs.valid()) ahead->outputs.wait();
  return result;
}

}  // namespace onceflow::engine
