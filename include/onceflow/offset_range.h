// OffsetRange: the offsets [from, until) of one input partition that a batch (or a task of it)
// reads. Recorded in the offsets log before the batch runs and in the sink's progress rows.
#pragma once

#include "onceflow/ids.h"

namespace onceflow {

struct OffsetRange {
  PartitionId partition;
  Offset from;
  Offset until;

  int64_t size() const { return until - from; }
  friend bool operator==(const OffsetRange&, const OffsetRange&) = default;
};

}  // namespace onceflow
