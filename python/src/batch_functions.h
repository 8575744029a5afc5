// Python callables as the engine's whole-batch functions (PipelineBuilder::TransformBatch),
// its foreach_batch and its update_state. Each call takes the GIL once, for the whole batch of
// a task: rows become a list of dicts, the function runs, its result becomes rows again.
#pragma once

#include <nanobind/nanobind.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "onceflow/pipeline.h"

namespace onceflow::python {

namespace nb = nanobind;

// What the Python functions of one pipeline did: their failures, each printed with its
// traceback to sys.stderr when it happens (the attempt is then retried), the last one kept for
// the exception that run() raises if the retries are spent; and the time spent in them (from
// waiting for the GIL to the rows converted back), for the benchmark. Thread-safe.
class UserErrors {
 public:
  void Record(const std::string& traceback);
  std::string last_traceback() const;
  int64_t count() const;
  void AddNanos(int64_t ns) { nanos_.fetch_add(ns, std::memory_order_relaxed); }
  int64_t nanos() const { return nanos_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  std::string last_;
  int64_t count_ = 0;
  std::atomic<int64_t> nanos_{0};
};

// A Python object that the engine's threads may copy and drop without the GIL: the last
// reference takes the GIL to release it.
using SharedObject = std::shared_ptr<nb::object>;
SharedObject Share(nb::object o);

enum class BatchKind { kMap, kFilter, kFlatMap };

// fn(rows: list[dict], ctx: BatchContext) returning, by kind: kMap a list of rows; kFilter a
// list of bools (one per row) or of rows (those kept); kFlatMap a list with one list of rows
// per input row. A returned row that is not a dict, or a value of an unsupported type, is a
// dead letter naming the field and the type; an exception fails the task attempt.
// `name` names the function in the printed traceback.
std::function<Result<BatchOutput>(std::vector<Row>, const BatchContext&)> MakeBatchFunction(
    nb::object fn, BatchKind kind, std::string name, std::shared_ptr<UserErrors> errors);

// fn(rows: list[dict], ctx: BatchContext) -> None, once per batch before its sink commit.
std::function<Status(const BatchContext&, std::span<const Row>)> MakeForeachBatch(
    nb::object fn, std::shared_ptr<UserErrors> errors);

// fn(key: dict, state, rows: list[dict], ctx) -> (state, list[dict]) for every key of a state
// task's share of a batch, in one hold of the GIL (PipelineBuilder::UpdateStateBatch): the
// key's state is a JSON-compatible value kept as its JSON text (None: no state; returning None
// removes it). An exception, a result of the wrong shape or a state that JSON cannot hold sends
// that key's rows of the batch to the dead letters and leaves its state (the engine's
// update_state semantics), with the traceback printed; the other keys go on.
std::function<Status(std::span<KeyedStateUpdate>, const BatchContext&)> MakeUpdateState(
    nb::object fn, std::shared_ptr<UserErrors> errors);

// The same function called key by key (PipelineBuilder::UpdateStateRows), the GIL taken once
// per key: how update_state ran before the per-batch step, kept only for the benchmark's
// before/after comparison (bench/python/state_bench.py).
std::function<std::vector<Row>(const Row&, std::optional<Row>&, std::span<const Row>,
                               const BatchContext&)>
MakeUpdateStatePerKey(nb::object fn, std::shared_ptr<UserErrors> errors);

}  // namespace onceflow::python
