// KeyedOperator: a stateful operator over rows grouped by key (aggregate, update_state). The
// driver's state step (state_step.h) routes each row to the state task of its key — always the
// same task, across batches and restarts — and runs each state task's share of the batch with a
// TaskState whose deltas are committed after the sink commit (docs/protocol.md step 5).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/dead_letter.h"
#include "dataplane/sink_row.h"
#include "onceflow/pipeline.h"
#include "onceflow/row.h"
#include "onceflow/status.h"
#include "state/state_format.h"
#include "state/task_state.h"

namespace onceflow::operators {

// A row on its way to a state task: its encoded key and, on event time, its event time.
struct KeyedRow {
  std::string key;
  int64_t event_time = 0;
  SinkRow row;
};

// What a state task's run sees and produces.
struct StateTaskContext {
  const BatchContext* batch;            // watermark_ms: the watermark at the batch's start
  int64_t watermark_after = INT64_MIN;  // after this batch's records (INT64_MIN: none yet)
  state::TaskState* state;
  std::vector<SinkRow>* out;
  std::vector<DeadLetter>* dead_letters;
};

// Map-side combining. An operator that combines (NewCombiner returns one) folds each map
// task's rows into one partial result per state key inside the map task — in parallel, as the
// records are read — so that a batch routes one partial per key and map task to the state
// tasks instead of every row. A map task's partials, bucketed by state task, are its
// CombinedTask; the operator's RunCombined merges them in map-task order. Deterministic: a
// re-run batch has the same map tasks over the same ranges, so the same partials.
class CombinedTask {
 public:
  virtual ~CombinedTask() = default;
  int64_t max_event_time = INT64_MIN;  // of its rows that were not late (INT64_MIN: none)
  int64_t late = 0;                    // rows older than the batch's watermark (dead letters)
};

// Lifecycle: one per map task attempt. Thread-safety: that attempt's thread.
class MapCombiner {
 public:
  virtual ~MapCombiner() = default;
  // Folds the row of record (p, o). A row that cannot be folded (a key field missing, a value
  // of the wrong type, an event time before the watermark) goes to `dead_letters` as its JSON
  // and changes nothing, as in the per-row path (StateStep).
  virtual void Add(const Row& row, PartitionId p, Offset o,
                   std::vector<DeadLetter>* dead_letters) = 0;
  virtual std::unique_ptr<CombinedTask> Finish() = 0;
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
  // Event time: how long a partition without event times holds the watermark back.
  virtual int64_t idle_timeout_ms() const { return 30000; }
  // Whether `run --until-caught-up` ends with a batch that closes the open windows.
  virtual bool emit_open_windows_at_end() const { return false; }
  // The watermark that closes every window holding an event time <= max_event_time.
  virtual int64_t CloseAllWatermark(int64_t max_event_time) const { return max_event_time; }

  // Runs one state task's rows of a batch (their input order: partition, then offset), then
  // its due timers. Must be deterministic given (rows, committed state, batch context).
  // An error fails the batch attempt (the batch is retried from the same state).
  virtual Status Run(std::vector<KeyedRow>& rows, StateTaskContext& ctx) const = 0;

  // A combiner for one map task of batch `batch`, whose watermark is `watermark_ms`, over
  // `state_tasks` state tasks; nullptr if this operator does not combine (the default).
  virtual std::unique_ptr<MapCombiner> NewCombiner(BatchId batch, int64_t watermark_ms,
                                                   int32_t state_tasks) const {
    return nullptr;
  }
  // Runs state task `task`'s share of the map tasks' partials (`parts`, in map-task order),
  // then its due timers, as Run does for rows. REQUIRES: the parts come from NewCombiner.
  virtual Status RunCombined(std::span<const CombinedTask* const> parts, int32_t task,
                             StateTaskContext& ctx) const {
    return Status::Aborted("this operator does not combine");
  }
};

// A key's state task: the state format's (src/state/state_format.h).
using state::StateTaskOf;

// The message of a record dead-lettered as late.
std::string LateMessage(int64_t event_time, int64_t watermark_ms, BatchId batch);

// The key of a row's `fields`: each value's type and text, unambiguously joined. Missing fields
// are invalid_argument naming the field.
Result<std::string> EncodeKey(const Row& row, const std::vector<std::string>& fields);
// The same, appended to *key (a caller that keys every record reuses one buffer).
Status AppendKey(const Row& row, const std::vector<std::string>& fields, std::string* key);

}  // namespace onceflow::operators
