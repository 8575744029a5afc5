// The kill loop of `onceflow chaos`: the pipeline runs as `onceflow run --until-caught-up`
// children, each ended by a seeded kill (chaos_faults.h) and restarted, `verify` after every
// kill, until the kills asked for have landed or the pipeline caught up; then one last run
// without faults, which must finish.
#pragma once

#include <random>
#include <string>

#include "cli/chaos_faults.h"
#include "cli/chaos_report.h"
#include "config/pipeline_config.h"
#include "onceflow/status.h"

namespace onceflow::cli {

struct ChaosTarget {
  config::PipelineConfig config;
  std::string toml;      // the pipeline file, as the children are given it
  std::string data_dir;  // --data of the children
  std::string work_dir;  // the runs' output: run-<n>.log
};

struct ChaosLoopOptions {
  int kills = 20;
  ChaosFaultOptions faults;
};

// Runs the loop, counting into *tally (kills by kind, restarts, recoveries, restart-to-first-
// commit times, replays) and recording there every violation: verify failing after a kill, a
// run that exits non-zero with no injected fault to blame, a last run that does not finish.
// Returns an error only when a child cannot be started or the checkpoint cannot be read.
// REQUIRES: nothing else runs the pipeline.
Status RunChaosLoop(const ChaosTarget& target, const ChaosLoopOptions& options,
                    std::mt19937_64* rng, ChaosTally* tally);

}  // namespace onceflow::cli
