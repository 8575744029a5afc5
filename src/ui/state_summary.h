// StateSummary: the keyed state store of a pipeline seen from outside — per operator, its keys
// and their bytes — read from a read-only RocksDB open, so while the pipeline runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onceflow/status.h"

namespace onceflow::ui {

struct OperatorState {
  int32_t op = 0;     // the operator number in the store's keys (docs/formats/state.md)
  int64_t keys = 0;   // data keys ('D') of the operator
  int64_t bytes = 0;  // their key and value bytes
  bool exact = true;  // false: the scan stopped at the cap; keys and bytes are lower bounds
};

// The operators with state in <checkpoint_dir>/state, by operator number; none when the
// pipeline has no state store. Scans at most `max_keys` keys in all.
Result<std::vector<OperatorState>> ReadStateSummary(const std::string& checkpoint_dir,
                                                    int64_t max_keys = 1000000);

}  // namespace onceflow::ui
