// BatchRunner: the six steps of batch N (docs/protocol.md). Run reads as the protocol; the
// functions below it are its steps, in order.
#include "engine/batch_runner.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <unordered_map>
#include <utility>

#include "engine/batch_stages.h"
#include "util/check.h"
#include "util/fault_points.h"

namespace onceflow::engine {
namespace {

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

// Per-batch reduction by key, in task (partition) and offset order: deterministic.
TaskOutput ReduceByKey(std::vector<TaskOutput>& outputs, const internal::PipelineSpec& spec) {
  TaskOutput reduced;
  std::unordered_map<std::string, size_t> index;
  for (TaskOutput& o : outputs) {
    for (SinkRow& r : o.rows) {
      Result<std::string> key = ReduceKey(r.row, spec.key_by);
      if (!key.has_value()) {
        reduced.dead_letters.push_back(
            {r.partition, r.offset, r.row.ToJson(), key.error().message()});
        continue;
      }
      auto [it, inserted] = index.emplace(std::move(*key), reduced.rows.size());
      if (inserted) {
        reduced.rows.push_back({std::move(r.row), PartitionId(-1), Offset(-1)});
      } else {
        Row& acc = reduced.rows[it->second].row;
        acc = spec.reduce(std::move(acc), r.row);
      }
    }
    for (DeadLetter& d : o.dead_letters) reduced.dead_letters.push_back(std::move(d));
  }
  return reduced;
}

// The ranges of a batch that read something: one map task each.
std::vector<OffsetRange> TaskRanges(const checkpoint::BatchIntent& intent) {
  std::vector<OffsetRange> ranges;
  for (const OffsetRange& r : intent.ranges) {
    if (r.from < r.until) ranges.push_back(r);
  }
  return ranges;
}

}  // namespace

BatchRunner::BatchRunner(const internal::PipelineSpec& spec, const RunOptions& options,
                         StatsBox* stats, checkpoint::Checkpoint* checkpoint,
                         source::Source* source, const operators::RecordDecoder* decoder,
                         sink::Sink* sink, StateStep* state, Executor* executor, EpochFn epoch,
                         LogFn log)
    : spec_(spec),
      options_(options),
      stats_(stats),
      checkpoint_(checkpoint),
      source_(source),
      decoder_(decoder),
      sink_(sink),
      state_(state),
      executor_(executor),
      epoch_(std::move(epoch)),
      log_(std::move(log)) {}

Status BatchRunner::Run(const checkpoint::BatchIntent& intent, Intent step2,
                        ComputeAhead::Outputs* computed, ComputeAhead* ahead) {
  using Clock = HistoryRecorder::Clock;
  using Phase = HistoryRecorder::Phase;
  // Each step's time goes to the batch history (when there is one): clock reads only.
  auto timed = [this](Phase phase, auto&& step) -> Status {
    if (history_ == nullptr) return step();
    const Clock::time_point t0 = Clock::now();
    Status st = step();
    history_->AddPhase(phase, Clock::now() - t0);
    return st;
  };
  if (history_ != nullptr) {
    history_->BeginBatch(intent, step2 == Intent::kRecorded);
    history_->BeginAttempt(1);
  }
  // Step 1, plan: done. `intent` holds the batch's ranges, batch time, watermark and seed
  // (planned by the driver, or read back from the offsets log for a batch re-run).
  // Step 2, intent: from here on batch N exists and completes with exactly these ranges.
  // Fault point after_intent.
  if (step2 == Intent::kNew) {
    Status st = timed(Phase::kIntent, [&] { return WriteIntent(intent); });
    if (!st.ok()) {
      if (history_ != nullptr) history_->EndAttempt(st, epoch_());
      return st;
    }
  }
  const int max_attempts = std::max(1, spec_.config.max_batch_failures);
  std::vector<checkpoint::PartitionMark> marks;
  Status s;
  for (int attempt = 1;; ++attempt) {
    if (history_ != nullptr && attempt > 1) history_->BeginAttempt(attempt);
    attempt_mismatches_.store(0);
    ComputedBatch batch;
    // Step 3, compute: the tasks (fault point task in each attempt), then the reduce or the
    // keyed state step. No side effect (but see CommitTaskOutput for commit_mode = "task").
    s = timed(Phase::kCompute,
              [&] { return Compute(intent, attempt == 1 ? computed : nullptr, ahead, &batch); });
    // Step 4, sink commit: the output and the tasks' progress rows in one sink transaction.
    // Fault points mid_sink_write, before_sink_commit, after_sink_commit (in the sink).
    if (s.ok()) s = timed(Phase::kSinkCommit, [&] { return CommitToSink(intent, &batch); });
    // Step 5, state commit: the keyed state of batch N, only after its sink commit. A crash
    // before it leaves the state one batch behind the sink; recovery re-runs the batch from
    // the state before it. Fault point mid_state_commit (in the state store).
    // A stateless pipeline has no such step (its history says 0).
    if (s.ok() && state_ != nullptr) {
      s = timed(Phase::kStateCommit, [&] { return CommitState(intent, &batch); });
    }
    if (history_ != nullptr) history_->ReplayMismatches(attempt_mismatches_.load());
    if (s.ok()) {
      CountAttempt(batch);
      marks = std::move(batch.marks);
      break;
    }
    if (history_ != nullptr) history_->EndAttempt(s, epoch_());
    if (!RetryAfter(intent, s, attempt, max_attempts)) break;
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
                         std::to_string(intent.batch.value() - 1) +
                         ", and a restart resumes there");
  }
  // Step 6, commit record: "batch N is done". Fault points after_state_commit,
  // before_commit_log and after_commit_log.
  s = timed(Phase::kCommitRecord, [&]() -> Status {
    ONCEFLOW_RETURN_IF_ERROR(faults::Hit("after_state_commit"));
    return WriteCommitRecord(intent, marks);
  });
  // The history record follows the commit record: a batch is "committed" there only once it
  // is (recovery writes the record a crash in between lost).
  if (history_ != nullptr) history_->EndAttempt(s, epoch_());
  ONCEFLOW_RETURN_IF_ERROR(s);
  CountCommitted(intent);
  return Status::Ok();
}

Status BatchRunner::WriteIntent(const checkpoint::BatchIntent& intent) {
  ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteIntent(intent));
  return faults::Hit("after_intent");
}

Status BatchRunner::Compute(const checkpoint::BatchIntent& intent, ComputeAhead::Outputs* computed,
                            ComputeAhead* ahead, ComputedBatch* batch) {
  std::vector<TaskAttemptRecord> failed_attempts;
  Result<std::vector<TaskOutput>> outputs =
      computed != nullptr
          ? computed->get()
          : RunMapTasks(intent, &batch->already, history_ != nullptr ? &failed_attempts : nullptr);
  if (!outputs.has_value()) {
    if (history_ != nullptr) history_->FailedTasks(std::move(failed_attempts), TaskRanges(intent));
    return outputs.error();
  }
  batch->outputs = std::move(*outputs);
  // The marks of the records the batch read last, committed with it (baseline marks first:
  // the batch's own replace them).
  batch->marks = baseline_marks_;
  for (const TaskOutput& o : batch->outputs) {
    if (o.last.offset.value() >= 0) batch->marks.push_back(o.last);
    batch->records_in += o.records_in;
    batch->not_data += o.not_data;
    batch->rows_out += static_cast<int64_t>(o.rows.size());
    batch->dead += static_cast<int64_t>(o.dead_letters.size());
  }
  if (state_ != nullptr) {
    ONCEFLOW_ASSIGN_OR_RETURN(
        batch->state, state_->Compute(ContextOf(intent), batch->outputs, intent.close_windows));
    if (ahead != nullptr) ahead->StateStepDone();
    batch->reduced = std::move(batch->state->output);
  } else if (spec_.reduce) {
    batch->reduced = ReduceByKey(batch->outputs, spec_);
  }
  if (state_ != nullptr || spec_.reduce) {
    batch->rows_out = static_cast<int64_t>(batch->reduced.rows.size());
    batch->dead = static_cast<int64_t>(batch->reduced.dead_letters.size());
  }
  if (history_ != nullptr) {
    history_->Computed(batch->outputs, TaskRanges(intent), batch->records_in, batch->rows_out,
                       batch->dead, batch->state ? batch->state->late : 0);
  }
  // The state's write is built while the sink commits (it reads only the deltas, the sink only
  // the rows); on a thread of its own, for the executor may be busy with the next batch's map
  // tasks. A small batch is not worth a thread: it is built at the commit.
  if (batch->state && batch->state->writes() >= state::StateStore::kOverlapMinWrites) {
    const StateBatch* state_batch = &*batch->state;
    batch->prepared = std::async(std::launch::async, [this, &intent, state_batch] {
      return state_->Prepare(intent.batch, *state_batch);
    });
  }
  return Status::Ok();
}

Result<std::vector<TaskOutput>> BatchRunner::ComputeTasks(const checkpoint::BatchIntent& planned) {
  // Per-task commits write each task as it wins: computed ahead, it would commit early.
  ONCEFLOW_CHECK(!PerTaskCommits());
  std::atomic<int64_t> unused{0};  // per-task commits never run ahead
  return RunMapTasks(planned, &unused);
}

Result<std::vector<TaskOutput>> BatchRunner::RunMapTasks(
    const checkpoint::BatchIntent& intent, std::atomic<int64_t>* already,
    std::vector<TaskAttemptRecord>* failed_attempts) {
  const config::PipelineConfig& c = spec_.config;
  const std::vector<OffsetRange> ranges = TaskRanges(intent);
  const bool per_task = PerTaskCommits();
  TaskContext task_ctx{};
  task_ctx.source = source_;
  task_ctx.decoder = decoder_;
  task_ctx.stages = spec_.stages;
  task_ctx.visibility = history_ != nullptr;
  task_ctx.digest =
      spec_.config.on_replay_mismatch != ReplayMismatch::kOff && !spec_.reduce && state_ == nullptr;
  if (internal::HasBatchStages(spec_.stages)) {
    task_ctx.batch_ctx = std::make_shared<const BatchContext>(ContextOf(intent));
  }
  if (state_ != nullptr) {
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
  FinishFn finish = [&, per_task](size_t t, int, const TaskOutput& out) -> Status {
    if (!per_task) return Status::Ok();
    return CommitTaskOutput(intent, ranges[t], out, already);
  };
  TaskPolicy policy{c.max_task_failures, c.speculation, c.speculation_multiplier,
                    std::chrono::milliseconds(c.speculation_min_ms)};
  return RunTasks(executor_, ranges.size(), compute, finish, policy, &counters_, failed_attempts);
}

Status BatchRunner::CommitToSink(const checkpoint::BatchIntent& intent, ComputedBatch* batch) {
  // A stateful batch, like a reduce, is committed as one task with all the ranges.
  const bool one_task = static_cast<bool>(spec_.reduce) || state_ != nullptr;
  if (spec_.foreach_batch) {
    std::vector<Row> rows;
    if (one_task) {
      for (const auto& r : batch->reduced.rows) rows.push_back(r.row);
    } else {
      for (const auto& o : batch->outputs) {
        for (const auto& r : o.rows) rows.push_back(r.row);
      }
    }
    ONCEFLOW_RETURN_IF_ERROR(spec_.foreach_batch(ContextOf(intent), rows));
  }
  if (sink_ == nullptr || PerTaskCommits()) return Status::Ok();
  std::vector<sink::TaskCommit> commits;
  if (one_task) {
    // All partitions' ranges, empty ones too, so the sink checks every one for gaps.
    commits.push_back(MakeTaskCommit(intent, intent.ranges, batch->reduced));
  } else {
    const std::vector<OffsetRange> ranges = TaskRanges(intent);
    for (size_t t = 0; t < ranges.size(); ++t) {
      commits.push_back(MakeTaskCommit(intent, {ranges[t]}, batch->outputs[t]));
    }
  }
  if (commits.empty()) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(auto outcomes, sink_->Commit(commits));
  Status first;
  for (size_t i = 0; i < outcomes.size() && i < commits.size(); ++i) {
    Status s = CountOutcome(commits[i], outcomes[i], &batch->already);
    if (first.ok()) first = std::move(s);  // every task reported, the first error returned
  }
  return first;
}

Status BatchRunner::CountOutcome(const sink::TaskCommit& commit, sink::CommitOutcome outcome,
                                 std::atomic<int64_t>* already) {
  if (outcome == sink::CommitOutcome::kCommitted) return Status::Ok();
  already->fetch_add(1);
  if (outcome != sink::CommitOutcome::kAlreadyCommittedDiffers) return Status::Ok();
  // Guarantee 3 broken by the user's code: the sink keeps the output it committed first (a
  // reader may have seen it), the re-run's output is skipped, and nobody may accept that
  // silently (docs/protocol.md, "Replay check").
  const bool fail = spec_.config.on_replay_mismatch == ReplayMismatch::kFail;
  const std::string line = "pipeline '" + commit.pipeline + "' batch " + commit.batch.ToString() +
                           " task " + std::to_string(commit.task) +
                           ": output differs from the committed output: a non-deterministic "
                           "transform or function? The committed output stays (on_replay_mismatch "
                           "= \"" +
                           (fail ? "fail" : "warn") + "\")";
  stats_->Update([](PipelineStats& st) { ++st.replay_mismatches; });
  attempt_mismatches_.fetch_add(1);
  {
    std::lock_guard lock(report_mu_);
    log_(line);
  }
  if (fail) return Status::Aborted(line);
  return Status::Ok();
}

Status BatchRunner::CommitTaskOutput(const checkpoint::BatchIntent& intent,
                                     const OffsetRange& range, const TaskOutput& out,
                                     std::atomic<int64_t>* already) {
  const sink::TaskCommit commit = MakeTaskCommit(intent, {range}, out);
  ONCEFLOW_ASSIGN_OR_RETURN(auto outcomes,
                            sink_->Commit(std::span<const sink::TaskCommit>(&commit, 1)));
  return CountOutcome(commit, outcomes.at(0), already);
}

Status BatchRunner::CommitState(const checkpoint::BatchIntent& intent, ComputedBatch* batch) {
  ONCEFLOW_DCHECK(state_ != nullptr && batch->state.has_value());
  return batch->prepared.valid() ? state_->Commit(batch->prepared.get(), *batch->state)
                                 : state_->Commit(intent.batch, *batch->state);
}

Status BatchRunner::WriteCommitRecord(const checkpoint::BatchIntent& intent,
                                      const std::vector<checkpoint::PartitionMark>& marks) {
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("before_commit_log"));
  ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteCommit(intent.batch, marks));
  baseline_marks_.clear();
  return faults::Hit("after_commit_log");
}

bool BatchRunner::RetryAfter(const checkpoint::BatchIntent& intent, const Status& s, int attempt,
                             int max_attempts) {
  if (!s.retryable() || attempt >= max_attempts) return false;
  stats_->Update([](PipelineStats& st) { ++st.batch_retries; });
  log_("batch " + intent.batch.ToString() + " attempt " + std::to_string(attempt) +
       " failed, retrying: " + s.ToString());
  std::this_thread::sleep_for(std::chrono::milliseconds(20 << std::min(attempt, 6)));
  return true;
}

void BatchRunner::CountAttempt(const ComputedBatch& batch) {
  const int64_t late = batch.state ? batch.state->late : 0;
  stats_->Update([&](PipelineStats& s) {
    s.late_records += late;
    s.records_in += batch.records_in;
    s.header_records += batch.not_data;
    s.rows_out += batch.rows_out;
    s.dead_letters += batch.dead;
    s.already_committed += batch.already.load();
  });
}

void BatchRunner::CountCommitted(const checkpoint::BatchIntent& intent) {
  stats_->Update([&](PipelineStats& st) {
    ++st.batches_committed;
    st.last_batch = intent.batch;
  });
  if (options_.on_batch_committed) options_.on_batch_committed(ContextOf(intent), stats_->Get());
}

bool BatchRunner::PerTaskCommits() const {
  return spec_.config.commit_mode == CommitMode::kTask && !spec_.reduce && state_ == nullptr &&
         sink_ != nullptr;
}

sink::TaskCommit BatchRunner::MakeTaskCommit(const checkpoint::BatchIntent& intent,
                                             std::vector<OffsetRange> ranges,
                                             const TaskOutput& out) const {
  sink::TaskCommit tc;
  tc.pipeline = spec_.config.name;
  // A map-only task reads one partition and is named after it; a reduce or a stateful
  // operator commits as task 0.
  tc.task =
      ranges.size() == 1 && !spec_.reduce && state_ == nullptr ? ranges[0].partition.value() : 0;
  tc.batch = intent.batch;
  tc.epoch = epoch_();
  tc.ranges = std::move(ranges);
  tc.source = source_identity_;
  tc.rows = out.rows;
  tc.dead_letters = out.dead_letters;
  if (spec_.config.on_replay_mismatch != ReplayMismatch::kOff) {
    // Map-only tasks computed theirs on the executor (ComputeTask).
    tc.digest = out.digest.has_value() ? *out.digest : sink::DigestOutput(tc.rows, tc.dead_letters);
  }
  return tc;
}

BatchContext BatchRunner::ContextOf(const checkpoint::BatchIntent& intent) const {
  BatchContext ctx;
  ctx.pipeline = spec_.config.name;
  ctx.batch_id = intent.batch;
  ctx.batch_time_ms = intent.batch_time_ms;
  ctx.watermark_ms = intent.watermark_ms;
  ctx.seed = intent.seed;
  ctx.epoch = epoch_();
  ctx.ranges = intent.ranges;
  ctx.idempotency_key = IdempotencyKey(ctx.pipeline, ctx.task, ctx.batch_id, ctx.ranges);
  return ctx;
}

}  // namespace onceflow::engine
