// Topic::Rep: what a public onceflow::Topic holds, shared by topic.cc and producer.cc (a
// Producer appends to the topic's log::Topic).
#pragma once

#include <memory>

#include "log/topic.h"
#include "onceflow/topic.h"

namespace onceflow {

struct Topic::Rep {
  std::unique_ptr<log::Topic> topic;
  bool read_only = false;
};

}  // namespace onceflow
