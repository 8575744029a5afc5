// The kill -9 loop of the crash tests: start a child, let it run for a random moment, SIGKILL it
// unless it ended first, check what the kill left, and start it again — until enough kills
// landed. (Kills at a fault point are the child's own: ONCEFLOW_FAULTS=point=crash in its env.)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "testing/process.h"

namespace onceflow::testing {

struct KillLoopOptions {
  int kills = 10;  // SIGKILLs that must land
  // Each run is killed after a delay drawn uniformly from [min_delay, max_delay].
  std::chrono::milliseconds min_delay{20};
  std::chrono::milliseconds max_delay{300};
  uint64_t seed = 1;  // of the delays; the caller says it in a SCOPED_TRACE to replay a failure
};

struct KillLoopResult {
  int kills = 0;     // runs SIGKILLed
  int finished = 0;  // runs that exited (with 0) before their kill
};

// Runs the loop. `start` starts one child. A child that exits before its kill must exit with 0
// (else the test fails naming its stderr); then `on_finished()` runs (typically: more input, so
// that the next run has work). After the n-th kill (1-based), `after_kill(n, child)` runs
// (typically: `verify` is clean). The loop stops early when the test has a fatal failure, which
// the caller checks (`if (HasFatalFailure()) return;`).
KillLoopResult RunKillLoop(const KillLoopOptions& options,
                           const std::function<std::unique_ptr<Process>()>& start,
                           const std::function<void()>& on_finished,
                           const std::function<void(int kill, Process& child)>& after_kill);

}  // namespace onceflow::testing
