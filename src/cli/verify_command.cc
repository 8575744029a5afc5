// `onceflow verify PIPELINE.toml`: prints whether the sink's progress rows and the checkpoint
// agree (audit::VerifyPipeline, as Pipeline::Verify): OK with a summary, or every violation.
#include <fmt/core.h>

#include <cstdio>

#include "audit/pipeline_verifier.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "config/pipeline_config.h"

namespace onceflow::cli {

Status RunVerify(const PipelineInspectOptions& options) {
  ONCEFLOW_ASSIGN_OR_RETURN(config::PipelineConfig config,
                            config::LoadPipelineConfig(options.config_path));
  ONCEFLOW_RETURN_IF_ERROR(RequireDataDir(options.data_dir));
  ONCEFLOW_ASSIGN_OR_RETURN(
      VerifyReport report,
      audit::VerifyPipeline(config, options.data_dir,
                            ResetCommand(options.config_path, options.data_dir)));
  if (report.ok()) {
    fmt::print("verify: OK: pipeline '{}': the sink's progress rows agree with the checkpoint\n",
               config.name);
    for (const std::string& line : report.summary) fmt::print("  {}\n", line);
    return Status::Ok();
  }
  fmt::print("verify: FAILED: pipeline '{}': {} violation(s)\n", config.name,
             report.violations.size());
  for (const std::string& v : report.violations) fmt::print("  {}\n", v);
  std::fflush(stdout);
  return Status::Corruption(fmt::format("pipeline '{}': {} violation(s) of exactly-once found",
                                        config.name, report.violations.size()));
}

}  // namespace onceflow::cli
