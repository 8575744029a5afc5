// ChaosTally and the report of `onceflow chaos`.
#include "cli/chaos_report.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace onceflow::cli {

const char* KillKindName(KillKind kind) {
  switch (kind) {
    case KillKind::kMoment: return "random moment";
    case KillKind::kFaultPoint: return "fault point";
    case KillKind::kPowerLoss: return "power loss";
    case KillKind::kInjectedError: return "I/O error";
  }
  return "?";
}

int ChaosTally::total_kills() const {
  int n = 0;
  for (int k : kills) n += k;
  return n;
}

std::string Percentiles(std::vector<double> ms) {
  if (ms.empty()) return "no sample";
  std::sort(ms.begin(), ms.end());
  // Nearest rank: the smallest sample with at least q of the samples at or below it.
  auto rank = [&](double q) {
    const auto i = static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size())));
    return ms[std::clamp<size_t>(i, 1, ms.size()) - 1];
  };
  return fmt::format("p50 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms (n = {})", rank(0.50), rank(0.99),
                     ms.back(), ms.size());
}

void PrintChaosReport(const ChaosTally& tally, int kills_asked, const std::string& repeat) {
  std::string kinds;
  for (int k = 0; k < kKillKinds; ++k) {
    kinds += fmt::format("{}{} {}", k == 0 ? "" : ", ", KillKindName(static_cast<KillKind>(k)),
                         tally.kills[static_cast<size_t>(k)]);
  }
  fmt::print("report:\n");
  fmt::print("  kills: {} of {} asked ({}){}\n", tally.total_kills(), kills_asked, kinds,
             tally.total_kills() < kills_asked
                 ? "; the pipeline caught up before the rest: give it more input for more kills"
                 : "");
  fmt::print("  runs: {}; restarts after a kill: {}, of which {} recovered (committed a batch or "
             "caught up) and {} were killed again while recovering\n",
             tally.runs, tally.restarts, tally.recoveries, tally.restarts - tally.recoveries);
  fmt::print("  restart to first committed batch: {}\n", Percentiles(tally.recovery_ms));
  fmt::print("  batches replayed (unfinished at a restart, re-run with their recorded ranges): "
             "{}\n",
             tally.replayed);
  for (const std::string& a : tally.audit) fmt::print("  audit: {}\n", a);
  for (const std::string& v : tally.violations) fmt::print("  VIOLATION: {}\n", v);
  if (tally.violations.empty()) {
    fmt::print("verdict: EXACTLY ONCE: {} kills, every audit passed\n", tally.total_kills());
  } else {
    fmt::print("verdict: VIOLATED: {} violation(s); repeat with: {}\n", tally.violations.size(),
               repeat);
  }
  std::fflush(stdout);
}

}  // namespace onceflow::cli
