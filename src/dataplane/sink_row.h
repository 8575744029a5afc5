// SinkRow: an output row on its way to a sink, with the source record it came from. A data-plane
// type shared by the operators that make rows and the sinks that write them.
#pragma once

#include "onceflow/ids.h"
#include "onceflow/row.h"

namespace onceflow {

// An output row with where it came from (for dead letters). partition < 0: no single origin.
struct SinkRow {
  Row row;
  PartitionId partition{-1};
  Offset offset{-1};
};

}  // namespace onceflow
