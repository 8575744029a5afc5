// Repair: finds the damaged batches of a partition's segments and, when told to, skips them
// deliberately: `onceflow topics repair TOPIC --partition P [--skip-damaged]`.
#pragma once

#include <string>
#include <vector>

#include "log/log_options.h"
#include "log/loss_record.h"
#include "onceflow/status.h"

namespace onceflow::log {

// Scans every segment of the partition in `dir` for damage that recovery refuses or readers
// stop at: an invalid batch in a sealed segment, or one in the active segment followed by data
// of a later group write (a torn tail is not damage: opening the partition cuts it and records
// it). Returns one kSkipped LossEvent per damaged range found: the offsets from the damaged
// batch up to the next intact batch that continues the log (or the segment's end).
//
// Without `skip_damaged` nothing is changed. With it, each range is first recorded durably in
// the partition's LOSSES file, then its segment is split around it: the intact batches after
// the damage move to a new segment named after their first offset, the damaged segment is cut
// at the damage, and readers jump over the recorded range from then on. Rerunning after a
// crash completes an interrupted split.
//
// Takes the partition's writer lock: busy while a producer has the partition open.
Result<std::vector<LossEvent>> RepairPartition(const std::string& dir, const LogOptions& options,
                                               bool skip_damaged);

}  // namespace onceflow::log
