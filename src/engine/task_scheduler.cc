// Task attempts: retries, speculation, commit coordinator.
#include "engine/task_scheduler.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace onceflow::engine {
namespace {

using Clock = std::chrono::steady_clock;

struct TaskState {
  int running = 0;
  int attempts = 0;
  int failures = 0;
  bool committing = false;  // an attempt holds the commit right
  bool done = false;
  bool speculated = false;
  Clock::time_point started;  // of the oldest running attempt
  Clock::duration took{};     // of the winner
  Status last_error;
  TaskOutput output;
  std::atomic<bool> cancel{false};
};

// One attempt, for the batch history. Written under BatchState::mu.
struct AttemptEntry {
  size_t task = 0;
  int attempt = 0;
  bool speculative = false;
  Clock::time_point started;
  Clock::duration took{};
  const char* outcome = nullptr;  // nullptr: still running
  std::string error;
};

// The history's word for an attempt whose computation or commit failed with `s`.
const char* FailedOutcome(const Status& s) { return s.code() == StatusCode::kFenced ? "fenced" : "failed"; }

// Shared with the attempts, which may outlive RunTasks (cancelled losers).
struct BatchState {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<TaskState> tasks;
  bool aborted = false;
  Status fatal;  // a non-retryable failure
  ComputeFn compute;
  FinishFn finish;
  TaskCounters* counters;
  std::vector<AttemptEntry> attempts;

  explicit BatchState(size_t n) : tasks(n) {}
};

void Launch(Executor* executor, const std::shared_ptr<BatchState>& state, size_t t,
            bool speculative) {
  TaskState& ts = state->tasks[t];
  if (ts.running == 0) ts.started = Clock::now();
  ++ts.running;
  const int attempt = ++ts.attempts;
  state->counters->attempts.fetch_add(1, std::memory_order_relaxed);
  if (speculative) state->counters->speculative.fetch_add(1, std::memory_order_relaxed);
  const size_t entry = state->attempts.size();
  AttemptEntry& added = state->attempts.emplace_back();
  added.task = t;
  added.attempt = attempt;
  added.speculative = speculative;
  added.started = Clock::now();
  executor->Submit([state, t, attempt, entry] {
    TaskState& ts = state->tasks[t];
    const auto t0 = Clock::now();
    Result<TaskOutput> out = state->compute(t, attempt, ts.cancel);
    std::unique_lock lock(state->mu);
    AttemptEntry& e = state->attempts[entry];
    e.took = Clock::now() - e.started;
    if (ts.done || state->aborted || ts.committing) {
      // Lost to another attempt, or the batch is over: discard.
      e.outcome = state->aborted ? "cancelled" : "speculative_lost";
    } else if (!out.has_value()) {
      ++ts.failures;
      state->counters->failures.fetch_add(1, std::memory_order_relaxed);
      ts.last_error = out.error();
      e.outcome = FailedOutcome(out.error());
      e.error = out.error().ToString();
      if (!out.error().retryable()) {
        state->aborted = true;
        state->fatal = out.error();
      }
    } else {
      // The commit coordinator: the first finished attempt gets the right to commit.
      ts.committing = true;
      lock.unlock();
      Status s = state->finish(t, attempt, *out);
      lock.lock();
      ts.committing = false;
      AttemptEntry& won = state->attempts[entry];  // the vector may have grown meanwhile
      won.took = Clock::now() - won.started;
      won.outcome = s.ok() ? "won" : FailedOutcome(s);
      if (!s.ok()) won.error = s.ToString();
      if (s.ok()) {
        ts.done = true;
        ts.took = Clock::now() - t0;
        ts.output = std::move(*out);
        ts.cancel.store(true, std::memory_order_relaxed);  // twins stop early
      } else {
        ++ts.failures;
        state->counters->failures.fetch_add(1, std::memory_order_relaxed);
        ts.last_error = s;
        if (!s.retryable()) {
          state->aborted = true;
          state->fatal = s;
        }
      }
    }
    --ts.running;
    state->cv.notify_all();
  });
}

// The attempts as history records, in launch order. REQUIRES: state->mu held.
std::vector<TaskAttemptRecord> AttemptRecords(const BatchState& state) {
  std::vector<TaskAttemptRecord> records;
  records.reserve(state.attempts.size());
  const auto now = Clock::now();
  for (const AttemptEntry& e : state.attempts) {
    TaskAttemptRecord& r = records.emplace_back();
    r.task = static_cast<int32_t>(e.task);
    r.partition = -1;
    r.attempt = e.attempt;
    r.speculative = e.speculative;
    const char* running = state.aborted ? "cancelled" : "speculative_lost";
    r.outcome = e.outcome != nullptr ? e.outcome : running;
    r.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        e.outcome != nullptr ? e.took : now - e.started)
                        .count();
    r.error = e.error;
  }
  return records;
}

}  // namespace

Result<std::vector<TaskOutput>> RunTasks(Executor* executor, size_t n, ComputeFn compute,
                                         FinishFn finish, const TaskPolicy& policy,
                                         TaskCounters* counters,
                                         std::vector<TaskAttemptRecord>* attempts_on_error) {
  auto state = std::make_shared<BatchState>(n);
  state->compute = std::move(compute);
  state->finish = std::move(finish);
  state->counters = counters;
  std::unique_lock lock(state->mu);
  for (size_t t = 0; t < n; ++t) Launch(executor, state, t, false);
  while (true) {
    if (state->aborted) {
      for (auto& ts : state->tasks) ts.cancel.store(true);
      if (attempts_on_error != nullptr) *attempts_on_error = AttemptRecords(*state);
      return Err(state->fatal);
    }
    size_t done = 0;
    std::vector<Clock::duration> took;
    for (size_t t = 0; t < n; ++t) {
      TaskState& ts = state->tasks[t];
      if (ts.done) {
        ++done;
        took.push_back(ts.took);
        continue;
      }
      if (ts.running == 0 && !ts.committing) {
        if (ts.failures >= policy.max_task_failures) {
          state->aborted = true;
          for (auto& other : state->tasks) other.cancel.store(true);
          if (attempts_on_error != nullptr) *attempts_on_error = AttemptRecords(*state);
          return Err(ts.last_error.WithContext("task " + std::to_string(t) + " failed " +
                                               std::to_string(ts.failures) + " times"));
        }
        Launch(executor, state, t, false);  // a retry
      }
    }
    if (done == n) break;
    if (policy.speculation && n >= 2 && done * 2 >= n) {
      std::nth_element(took.begin(), took.begin() + took.size() / 2, took.end());
      const auto median = took[took.size() / 2];
      const auto threshold = std::max<Clock::duration>(
          std::chrono::duration_cast<Clock::duration>(median * policy.speculation_multiplier),
          policy.speculation_min);
      const auto now = Clock::now();
      for (size_t t = 0; t < n; ++t) {
        TaskState& ts = state->tasks[t];
        if (!ts.done && !ts.speculated && !ts.committing && ts.running == 1 &&
            now - ts.started > threshold) {
          ts.speculated = true;
          Launch(executor, state, t, true);
        }
      }
    }
    state->cv.wait_for(lock, std::chrono::milliseconds(5));
  }
  std::vector<TaskOutput> outputs;
  outputs.reserve(n);
  for (auto& ts : state->tasks) outputs.push_back(std::move(ts.output));
  for (TaskAttemptRecord& r : AttemptRecords(*state)) {
    outputs[static_cast<size_t>(r.task)].attempts.push_back(std::move(r));
  }
  return outputs;
}

}  // namespace onceflow::engine
