// What `onceflow chaos` counts while it kills a pipeline (ChaosTally) and the report it prints
// at the end: kills by kind, recoveries, restart-to-first-commit percentiles, replays, verdict.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace onceflow::cli {

// How a run of the pipeline ended before its work was done.
enum class KillKind {
  kMoment,         // SIGKILLed by chaos at a random moment
  kFaultPoint,     // an armed `crash` fault point fired (exit 86)
  kPowerLoss,      // an armed `power_loss` fault point fired (exit 87)
  kInjectedError,  // an injected I/O error or thrown fault made it exit non-zero
};
inline constexpr int kKillKinds = 4;
const char* KillKindName(KillKind kind);

// Thread-safety: one thread.
struct ChaosTally {
  int runs = 0;                            // child processes started, the last run included
  std::array<int, kKillKinds> kills = {};  // by KillKind
  // Restarts after a kill that went on to commit a batch or to catch up: each is a recovery.
  int restarts = 0;
  int recoveries = 0;
  // Restarts that found an unfinished batch in the checkpoint (the batch is re-run).
  int replayed = 0;
  // Per restart that committed a batch: milliseconds from its start to its first commit.
  std::vector<double> recovery_ms;
  // The last run, without faults, caught up (exit 0): the audits of the end apply.
  bool finished = false;
  // Every violation found, each one line saying what and where.
  std::vector<std::string> violations;
  // Lines of the audit that passed (what was checked and what was found).
  std::vector<std::string> audit;

  int total_kills() const;
};

// "p50 12 ms, p99 80 ms, max 95 ms (n = 40)", or "no sample".
std::string Percentiles(std::vector<double> ms);

// Prints the report to stdout; `repeat` is the command line that repeats the run.
void PrintChaosReport(const ChaosTally& tally, int kills_asked, const std::string& repeat);

}  // namespace onceflow::cli
