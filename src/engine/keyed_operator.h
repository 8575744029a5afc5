// KeyedOperator: a stateful operator over rows grouped by key (aggregate, update_state). The
// driver's state step (state_step.h) routes each row to the state task of its key — always the
// same task, across batches and restarts — and runs each state task's share of the batch with a
// TaskState whose deltas are committed after the sink commit (DESIGN.md step 5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onceflow/pipeline.h"
#include "onceflow/row.h"
#include "onceflow/status.h"
#include "sink/sink.h"
#include "state/task_state.h"

namespace onceflow::engine {

// A row on its way to a state task: its encoded key and, on event time, its event time.
struct KeyedRow {
  std::string key;
  int64_t event_time = 0;
  sink::SinkRow row;
};

// What a state task's run sees and produces.
struct StateTaskContext {
  const BatchContext* batch;         // watermark_ms: the watermark at the batch's start
  int64_t watermark_after = INT64_MIN;  // after this batch's records (INT64_MIN: none yet)
  state::TaskState* state;
  std::vector<sink::SinkRow>* out;
  std::vector<sink::DeadLetter>* dead_letters;
};

// Thread-safety: const methods, called concurrently from the state tasks' threads.
class KeyedOperator {
 public:
  virtual ~KeyedOperator() = default;

  // The encoding of the row's key fields (what partitions it). invalid_argument (a missing key
  // field) sends the record to the dead letters.
  virtual Result<std::string> KeyOf(const Row& row) const = 0;
  // Event-time operators: the row's event time; invalid_argument sends it to the dead letters.
  virtual bool on_event_time() const { return false; }
  virtual Result<int64_t> EventTime(const Row& row) const { return int64_t{0}; }
  virtual int64_t allowed_lateness_ms() const { return 0; }

  // Runs one state task's rows of a batch (their input order: partition, then offset), then
  // its due timers. Must be deterministic given (rows, committed state, batch context).
  // An error fails the batch attempt (the batch is retried from the same state).
  virtual Status Run(std::vector<KeyedRow>& rows, StateTaskContext& ctx) const = 0;
};

// The key of a row's `fields`: each value's type and text, unambiguously joined. Missing fields
// are invalid_argument naming the field.
Result<std::string> EncodeKey(const Row& row, const std::vector<std::string>& fields);

}  // namespace onceflow::engine
