// UpdateStateOperator: mapWithState (PipelineBuilder::UpdateState). Per key and batch, the
// user function gets the key, the key's state (nullopt if none) and the key's rows of the batch
// in offset order; it may keep, update or remove the state (reset the optional) and returns
// output rows. With a timeout, a key whose state was not updated for that long (in batch time)
// gets one last call with no rows, and its state is removed.
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

  UpdateStateOperator(std::vector<std::string> key_fields, Fn fn,
                      std::optional<std::chrono::milliseconds> timeout)
      : key_fields_(std::move(key_fields)), fn_(std::move(fn)), timeout_(timeout) {}

  Result<std::string> KeyOf(const Row& row) const override;
  Status Run(std::vector<KeyedRow>& rows, StateTaskContext& ctx) const override;

 private:
  const std::vector<std::string> key_fields_;
  const Fn fn_;
  const std::optional<std::chrono::milliseconds> timeout_;
};

}  // namespace onceflow::operators
