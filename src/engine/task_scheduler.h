// TaskScheduler: runs the tasks of one batch on the executor with retries, speculation and a
// commit coordinator. This is where onceflow departs from the classic Spark Streaming advice
// (`spark.task.maxFailures=1`, speculation off): both stay on, because computing a task has no
// side effect and its commit is fenced by the sink's progress row.
//
// Per task: a failed attempt is retried until max_task_failures attempts have failed; once at
// least half of the batch's tasks are done, a task running longer than speculation_multiplier
// x their median (and at least speculation_min) gets one twin attempt. The first attempt to
// finish its computation gets the commit right (the coordinator); its `finish` callback runs
// (in per-task commit mode it commits to the sink); if that fails the right is released and
// the task retried. Later finishers are cancelled and discarded.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "engine/executor.h"
#include "engine/task.h"
#include "onceflow/batch_history.h"
#include "onceflow/status.h"

namespace onceflow::engine {

struct TaskPolicy {
  int max_task_failures = 4;
  bool speculation = true;
  double speculation_multiplier = 4.0;
  std::chrono::milliseconds speculation_min{100};
};

struct TaskCounters {
  std::atomic<int64_t> attempts{0};
  std::atomic<int64_t> failures{0};
  std::atomic<int64_t> speculative{0};
};

// Computes task i (attempt a); must honour `cancel`.
using ComputeFn =
    std::function<Result<TaskOutput>(size_t task, int attempt, const std::atomic<bool>& cancel)>;
// Runs for the attempt that won task i, with its output, before the task counts as done.
using FinishFn = std::function<Status(size_t task, int attempt, const TaskOutput& output)>;

// Runs `n` tasks to completion and returns their winning outputs, in task order; or the error
// of a task that failed max_task_failures times (retryable if that error was), or of a
// non-retryable failure at once. Losing and cancelled attempts may still be running when this
// returns; they can no longer finish.
// Every attempt is recorded for the batch history (task = index, partition unset): in the
// winner's TaskOutput::attempts on success, in `*attempts_on_error` (if not null) on error. An
// attempt still running at return is "speculative_lost" (or "cancelled" after an error), with
// the time it ran until then.
Result<std::vector<TaskOutput>> RunTasks(Executor* executor, size_t n, ComputeFn compute,
                                         FinishFn finish, const TaskPolicy& policy,
                                         TaskCounters* counters,
                                         std::vector<TaskAttemptRecord>* attempts_on_error = nullptr);

}  // namespace onceflow::engine
