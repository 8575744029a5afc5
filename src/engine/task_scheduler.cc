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
  executor->Submit([state, t, attempt] {
    TaskState& ts = state->tasks[t];
    const auto t0 = Clock::now();
    Result<TaskOutput> out = state->compute(t, attempt, ts.cancel);
    std::unique_lock lock(state->mu);
    if (ts.done || state->aborted || ts.committing) {
      // Lost to another attempt, or the batch is over: discard.
    } else if (!out.has_value()) {
      ++ts.failures;
      state->counters->failures.fetch_add(1, std::memory_order_relaxed);
      ts.last_error = out.error();
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

}  // namespace

Result<std::vector<TaskOutput>> RunTasks(Executor* executor, size_t n, ComputeFn compute,
                                         FinishFn finish, const TaskPolicy& policy,
                                         TaskCounters* counters) {
  auto state = std::make_shared<BatchState>(n);
  state->compute = std::move(compute);
  state->finish = std::move(finish);
  state->counters = counters;
  std::unique_lock lock(state->mu);
  for (size_t t = 0; t < n; ++t) Launch(executor, state, t, false);
  while (true) {
    if (state->aborted) {
      for (auto& ts : state->tasks) ts.cancel.store(true);
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
  return outputs;
}

}  // namespace onceflow::engine
