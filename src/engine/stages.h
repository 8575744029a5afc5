// Applying a pipeline's row operators to one decoded record.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/pipeline_spec.h"
#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::engine {

// Runs `row` through stages[0..] and calls emit for every row that comes out (none if a
// filter drops it, several after a flat_map). Returns an error (invalid_argument, with the
// message of a transform error or of an exception thrown by user code) if a stage fails: the
// caller dead-letters the record. Rows emitted before a failure must be discarded by the
// caller.
Status ApplyStages(std::span<const internal::Stage> stages, Row row,
                   const std::function<void(Row&&)>& emit);

}  // namespace onceflow::engine
