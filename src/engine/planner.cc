// Batch planning.
#include "engine/planner.h"

#include <algorithm>

namespace onceflow::engine {

Result<std::vector<OffsetRange>> PlanRanges(const std::vector<Offset>& positions,
                                            const std::vector<Offset>& earliest,
                                            const std::vector<Offset>& end, int64_t max_records) {
  std::vector<OffsetRange> ranges;
  ranges.reserve(end.size());
  for (size_t p = 0; p < end.size(); ++p) {
    const Offset first = p < earliest.size() ? earliest[p] : Offset(0);
    const Offset from = p < positions.size() ? positions[p] : first;
    if (from < first) {
      return Err(Status::OutOfRange(
          "partition " + std::to_string(p) + ": offsets [" + from.ToString() + ", " +
          first.ToString() + ") were deleted by retention before the pipeline processed them"));
    }
    if (end[p] < from) {
      return Err(Status::OutOfRange("partition " + std::to_string(p) + " ends at offset " +
                                    end[p].ToString() +
                                    " but the pipeline has processed it up to " + from.ToString() +
                                    ": was the topic deleted and created again?"));
    }
    const Offset until = std::max(from, std::min(end[p], from + max_records));
    ranges.push_back({PartitionId(static_cast<int32_t>(p)), from, until});
  }
  return ranges;
}

bool AllEmpty(const std::vector<OffsetRange>& ranges) {
  return std::all_of(ranges.begin(), ranges.end(),
                     [](const OffsetRange& r) { return r.from == r.until; });
}

}  // namespace onceflow::engine
