// PlanRun: the seeded choice of each chaos run's kill.
#include "cli/chaos_faults.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/fault_points.h"

namespace onceflow::cli {
namespace {

template <typename T>
const T& Pick(const std::vector<T>& v, std::mt19937_64* rng) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(*rng)];
}

double Uniform(double lo, double hi, std::mt19937_64* rng) {
  return std::uniform_real_distribution<double>(lo, std::max(lo, hi))(*rng);
}

}  // namespace

std::string RunPlan::Describe() const {
  if (kind == KillKind::kMoment) return fmt::format("SIGKILL at {:.0f} ms", kill_after_ms);
  return fmt::format("ONCEFLOW_FAULTS={} (SIGKILL at {:.0f} ms if it has not fired)", faults,
                     kill_after_ms);
}

RunPlan PlanRun(const ChaosFaultOptions& options, const WorkLeft& left, std::mt19937_64* rng) {
  std::vector<KillKind> kinds = {KillKind::kMoment, KillKind::kMoment, KillKind::kFaultPoint,
                                 KillKind::kFaultPoint};
  if (options.power_loss) kinds.push_back(KillKind::kPowerLoss);
  if (options.faults) kinds.push_back(KillKind::kInjectedError);
  RunPlan plan;
  plan.kind = Pick(kinds, rng);
  // The share of the remaining work one kill may take: uniform over [0, span], the mean kill
  // comes at half of 1/(kills_left + 1) of it, which leaves room for what each restart does
  // besides (the re-run of an unfinished batch, the moments a busy machine adds).
  const double share = 1.0 / (left.kills_left + 1);
  const double span_ms = left.work_ms * share;
  // The nth hit of a point: points are met about once per batch (per task for task-level
  // points), so the nth hit lies in about the nth batch of the run, or earlier.
  auto nth_hit = [&] {
    const double batches = std::max(1.0, std::round(left.batches * share));
    return static_cast<int64_t>(Uniform(1, batches + 1, rng));
  };
  switch (plan.kind) {
    case KillKind::kMoment:
      // One in five during the restart itself (recovery, the re-run of an unfinished batch),
      // the others while it works.
      plan.kill_after_ms = Uniform(0, 1, rng) < 0.2 ? Uniform(0, left.startup_ms, rng)
                                                    : left.startup_ms + Uniform(0, span_ms, rng);
      break;
    case KillKind::kFaultPoint:
    case KillKind::kPowerLoss: {
      const std::string& point = Pick(faults::PipelinePoints(), rng);
      plan.faults = fmt::format(
          "{}={}#{}", point, plan.kind == KillKind::kPowerLoss ? "power_loss" : "crash", nth_hit());
      break;
    }
    case KillKind::kInjectedError: {
      if (std::uniform_int_distribution<int>(0, 1)(*rng) == 0) {
        // A write, sync or rename of onceflow's own files fails: the run stops with an error.
        static const std::vector<std::string> kPoints = {"file_write", "file_sync", "file_rename"};
        static const std::vector<std::string> kErrors = {"eio", "enospc"};
        plan.faults = fmt::format("{}={}#{}", Pick(kPoints, rng), Pick(kErrors, rng),
                                  static_cast<int64_t>(Uniform(1, 4 * nth_hit() + 1, rng)));
      } else {
        // A step fails now and then (retryable): retries, and once they are exhausted the run
        // stops with an error.
        plan.faults = fmt::format("{}=throw@{:.2f}", Pick(faults::PipelinePoints(), rng),
                                  Uniform(0.05, 0.5, rng));
      }
      break;
    }
  }
  if (plan.kind != KillKind::kMoment) {
    // The backstop: late enough that the armed fault usually fires first.
    plan.kill_after_ms = 1.5 * left.startup_ms + 2 * span_ms + Uniform(0, span_ms, rng);
  }
  return plan;
}

}  // namespace onceflow::cli
