// Planner: the offset ranges of the next batch (docs/protocol.md step 1).
#pragma once

#include <vector>

#include "config/pipeline_config.h"
#include "onceflow/offset_range.h"
#include "onceflow/status.h"

namespace onceflow::engine {

// Plans one range per partition of the source: from the previous batch's end (`positions`;
// partitions past its size are new and start at their earliest offset) to the end of the
// source, at most `max_records` per partition (the rate limit). An unprocessed offset that
// retention already deleted is an error naming the partition and the lost range: records are
// never skipped silently.
Result<std::vector<OffsetRange>> PlanRanges(const std::vector<Offset>& positions,
                                            const std::vector<Offset>& earliest,
                                            const std::vector<Offset>& end, int64_t max_records);

// True if every range is empty.
bool AllEmpty(const std::vector<OffsetRange>& ranges);

}  // namespace onceflow::engine
