// StatsBox: a pipeline's counters, shared between the thread that runs it and
// Pipeline::stats().
#pragma once

#include <mutex>

#include "onceflow/pipeline.h"

namespace onceflow::engine {

// Thread-safety: Update and Get may be called from any thread.
struct StatsBox {
  mutable std::mutex mu;
  PipelineStats stats;
  template <typename F>
  void Update(F&& f) {
    std::lock_guard lock(mu);
    f(stats);
  }
  PipelineStats Get() const {
    std::lock_guard lock(mu);
    return stats;
  }
};

}  // namespace onceflow::engine
