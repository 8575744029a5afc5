// DeadLetter: a record that could not be processed, kept with its error. A data-plane type
// shared by the operators that make dead letters and the sinks that store them.
#pragma once

#include <string>

#include "onceflow/ids.h"

namespace onceflow {

// A record that could not be parsed or bound: it goes to the dead-letter table, in the same
// transaction as the batch's output, never silently dropped.
struct DeadLetter {
  PartitionId partition;
  Offset offset;
  std::string raw;
  std::string error;
};

}  // namespace onceflow
