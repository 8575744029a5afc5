// The faults of one `onceflow chaos` run: which kill it is meant to end with (a SIGKILL at a
// random moment, a crash or a power loss at a random fault point and hit, an injected I/O
// error) and the ONCEFLOW_FAULTS that arms it, drawn from a seeded generator so that a seed
// repeats a whole chaos run.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "cli/chaos_report.h"

namespace onceflow::cli {

// What the kinds may be drawn from.
struct ChaosFaultOptions {
  bool power_loss = false;  // also `power_loss` at fault points
  bool faults = false;      // also injected I/O errors and thrown faults
};

// How much work is left, as the kill loop estimates it from the runs so far.
struct WorkLeft {
  double startup_ms = 150;  // a restart's time to its first committed batch
  double work_ms = 0;       // the time the remaining records take once started
  double batches = 0;       // the batches they make
  int kills_left = 1;       // kills still to land, >= 1
};

struct RunPlan {
  KillKind kind = KillKind::kMoment;
  std::string faults;  // the child's ONCEFLOW_FAULTS ("": none)
  // The SIGKILL comes this long after the start, unless the run ended first: the kill of a
  // kMoment run, the backstop of the others (whose armed fault may never be reached).
  double kill_after_ms = 0;
  std::string Describe() const;
};

// Draws the next run's plan. The moments and hits spread the remaining kills over the remaining
// work: a kill comes after about 1/(kills_left + 1) of it on average, and sometimes during the
// restart itself (before the first commit).
RunPlan PlanRun(const ChaosFaultOptions& options, const WorkLeft& left, std::mt19937_64* rng);

}  // namespace onceflow::cli
