// ComputeAhead: the next batch computed while this one commits (docs/protocol.md, "The six
// steps of batch N"). Computing has no side effect, so the next batch may be computed before
// its intent exists; its intent is then written with exactly the ranges computed, before
// anything of it is committed.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <vector>

#include "checkpoint/batch_intent.h"
#include "engine/task.h"
#include "onceflow/status.h"

namespace onceflow::engine {

// Holds at most one batch planned ahead and its computation (on a thread of its own).
// Lifecycle: one per Driver::Run; the destructor waits for a computation still running (it
// uses the driver's source, decoder and executor). Thread-safety: the driver's thread only.
class ComputeAhead {
 public:
  using Outputs = std::future<Result<std::vector<TaskOutput>>>;
  // Computes a batch's map tasks (no per-task commits: none run ahead).
  using ComputeFn =
      std::function<Result<std::vector<TaskOutput>>(const checkpoint::BatchIntent& planned)>;

  // A batch planned ahead.
  struct Batch {
    checkpoint::BatchIntent planned;  // its id and ranges only: the rest is set at its intent
    std::vector<Offset> end;          // the source's end when it was planned
    Outputs outputs;                  // valid once its computation started
  };

  explicit ComputeAhead(ComputeFn compute) : compute_(std::move(compute)) {}
  ~ComputeAhead() { Wait(); }

  // Plans `planned` to be computed: now, or — `after_state_step` — once StateStepDone() says
  // that the current batch's state tasks are done (a stateful batch's next map tasks leave the
  // executor to them). Replaces nothing: REQUIRES: no batch is held (Take() was called; CHECKed).
  void Start(checkpoint::BatchIntent planned, std::vector<Offset> end, bool after_state_step);
  // The current batch's state step is done: starts a computation that waits for it.
  void StateStepDone();
  // The batch computed ahead, if its computation started; nullptr otherwise (plan anew).
  std::unique_ptr<Batch> Take();
  // Drops a start still waiting for a state step (the current batch failed before it).
  void DropWaiting();
  // Waits until a computation still running is done.
  void Wait();

  ComputeAhead(const ComputeAhead&) = delete;
  ComputeAhead& operator=(const ComputeAhead&) = delete;

 private:
  void Launch();

  const ComputeFn compute_;
  std::unique_ptr<Batch> next_;
  bool waiting_ = false;  // next_ waits for StateStepDone()
};

}  // namespace onceflow::engine
