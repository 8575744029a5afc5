// UpdateStateOperator: mapWithState (PipelineBuilder::UpdateStateBatch and UpdateState). Per
// state task and batch, the user function gets every key of the task's share of the batch at
// once (KeyedStateUpdate: the key, its rows in offset order, its state) and sets each key's new
// state (or removes it) and output rows, or refuses the key's rows to the dead letters. The
// per-key form is the same function calling the user's key by key. With a timeout, the keys
// whose state was not updated for that long (in batch time) get one more call with no rows, and
// their state is removed.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "operators/keyed_operator.h"

namespace onceflow::operators {

class UpdateStateOperator final : public KeyedOperator {
 public:
  using Fn = std::function<std::vector<Row>(const Row& key, std::optional<Row>& state,
                                            std::span<const Row> values, const BatchContext& ctx)>;
  using BatchFn = std::function<Status(std::span<KeyedStateUpdate> keys, const BatchContext& ctx)>;

  UpdateStateOperator(std::vector<std::string> key_fields, BatchFn fn,
                      std::optional<std::chrono::milliseconds> timeout)
      : key_fields_(std::move(key_fields)), fn_(std::move(fn)), timeout_(timeout) {}

  // The per-key function as a batch function: fn per key in order; an exception sets the key's
  // error ("update_state threw: <what>").
  static BatchFn PerKey(Fn fn);

  Result<std::string> KeyOf(const Row& row) const override;
  Status Run(std::vector<KeyedRow>& rows, StateTaskContext& ctx) const override;

 private:
  // fn_ over `keys`; an exception it throws is an error (the batch attempt fails).
  Status Call(std::span<KeyedStateUpdate> keys, const BatchContext& ctx) const;

  const std::vector<std::string> key_fields_;
  const BatchFn fn_;
  const std::optional<std::chrono::milliseconds> timeout_;
};

}  // namespace onceflow::operators
