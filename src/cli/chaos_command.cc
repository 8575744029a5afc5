// `onceflow chaos PIPELINE.toml --kills N`: the pipeline under SIGKILLs, crashes and power
// losses at fault points, and injected I/O errors, then audited (chaos_kill_loop.h,
// chaos_audit.h, chaos_report.h).
#include <fmt/core.h>

#include <cstdio>
#include <optional>
#include <random>
#include <string>

#include "cli/chaos_audit.h"
#include "cli/chaos_key_audit.h"
#include "cli/chaos_kill_loop.h"
#include "cli/chaos_report.h"
#include "cli/commands.h"
#include "config/pipeline_config.h"
#include "util/file.h"

namespace onceflow::cli {

Status RunChaos(const ChaosOptions& options) {
  if (options.kills < 0) return Status::InvalidArgument("chaos: --kills must be >= 0");
  std::optional<AuditKey> key;
  if (!options.audit_key.empty()) {
    ONCEFLOW_ASSIGN_OR_RETURN(key, ParseAuditKey(options.audit_key));
  }
  ChaosTarget target;
  ONCEFLOW_ASSIGN_OR_RETURN(target.config, config::LoadPipelineConfig(options.config_path));
  target.toml = options.config_path;
  target.data_dir = options.data_dir;
  target.work_dir = JoinPath(JoinPath(options.data_dir, "chaos"), target.config.name);
  ONCEFLOW_RETURN_IF_ERROR(RemoveAll(target.work_dir));
  ONCEFLOW_RETURN_IF_ERROR(CreateDirs(target.work_dir));
  const uint64_t seed = options.seed != 0 ? options.seed : std::random_device{}();
  const std::string repeat = fmt::format(
      "onceflow chaos {} --kills {} --seed {}{}{}{} --data {} (from the same starting data)",
      options.config_path, options.kills, seed, options.power_loss ? " --power-loss" : "",
      options.faults ? " --faults" : "",
      options.audit_key.empty() ? "" : " --audit-key " + options.audit_key, options.data_dir);
  fmt::print("chaos: pipeline '{}', {} kills (random moments, crashes at fault points{}{}), "
             "seed {}\n",
             target.config.name, options.kills, options.power_loss ? ", power losses" : "",
             options.faults ? ", injected I/O errors and thrown faults" : "", seed);
  std::fflush(stdout);

  std::mt19937_64 rng(seed);
  ChaosTally tally;
  ONCEFLOW_RETURN_IF_ERROR(
      RunChaosLoop(target,
                   {.kills = options.kills,
                    .faults = {.power_loss = options.power_loss, .faults = options.faults}},
                   &rng, &tally));
  if (tally.finished) {
    ONCEFLOW_RETURN_IF_ERROR(AuditChaos(target, key, &tally));
  } else {
    tally.audit.push_back("not made: the pipeline did not finish");
  }
  PrintChaosReport(tally, options.kills, repeat);
  if (tally.violations.empty()) return Status::Ok();
  return Status::Corruption(fmt::format("chaos: pipeline '{}' (seed {}): {} violation(s), the "
                                        "first: {}",
                                        target.config.name, seed, tally.violations.size(),
                                        tally.violations.front()));
}

}  // namespace onceflow::cli
