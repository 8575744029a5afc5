// TaskState: one state task's view of one stateful operator during one batch: reads see this
// batch's own writes over the state committed by the previous batch; writes are buffered into
// a StateDelta that the driver commits after the sink commit (docs/protocol.md step 5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "state/state_format.h"
#include "state/state_store.h"
#include "util/flat_index.h"

namespace onceflow::state {

// Lifecycle: one per (operator, state task, task attempt); TakeDelta ends it.
// Thread-safety: one thread; several TaskStates may read one store concurrently.
class TaskState {
 public:
  TaskState(const StateStore* store, OperatorId op, int32_t task)
      : store_(store), op_(op), task_(task) {}

  // The value of `user_key`: this batch's write if any, else the committed value.
  Result<std::optional<std::string>> Get(std::string_view user_key) const;
  void Put(std::string_view user_key, std::string value);
  void Remove(std::string_view user_key);
  // Room for n more writes (a caller that knows how many keys it will write).
  void Reserve(size_t n);
  // Timers: (time, user_key) pairs, e.g. a window's end or a key's timeout.
  void SetTimer(int64_t time, std::string_view user_key);
  void ClearTimer(int64_t time, std::string_view user_key);
  // The timers due at `until` (time <= until), committed or set in this batch and not cleared,
  // in (time, key) order.
  Result<std::vector<std::pair<int64_t, std::string>>> DueTimers(int64_t until) const;

  int32_t task() const { return task_; }
  // The batch's writes, in key order. Ends this TaskState.
  StateDelta TakeDelta();

 private:
  // The write of `key`, or nullptr.
  const std::optional<std::string>* Find(std::string_view key) const;
  void Set(std::string key, std::optional<std::string> value);

  const StateStore* store_;
  OperatorId op_;
  int32_t task_;
  // This batch's writes, one per key, in the order of their first write, and their index (a
  // batch writes up to a million keys per task).
  std::vector<StateDelta::Write> writes_;
  FlatIndex index_;
};

}  // namespace onceflow::state
