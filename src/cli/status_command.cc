// `onceflow status PIPELINE.toml`: prints where a pipeline stands (audit::ReadPipelineStatus,
// as Pipeline::Status) — last committed batch, epoch, unfinished batch, and per partition the
// committed offset, the source's end and the lag. Works while the pipeline runs.
#include <fmt/core.h>

#include <string>

#include "audit/pipeline_status.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "config/pipeline_config.h"
#include "sink/sink.h"

namespace onceflow::cli {

Status RunStatus(const PipelineInspectOptions& options) {
  ONCEFLOW_ASSIGN_OR_RETURN(config::PipelineConfig config,
                            config::LoadPipelineConfig(options.config_path));
  ONCEFLOW_RETURN_IF_ERROR(RequireDataDir(options.data_dir));
  AuditOptions audit;
  audit.reset_command = ResetCommand(options.config_path, options.data_dir);
  audit.read_sink_progress = false;  // status reads the checkpoint and the source only
  ONCEFLOW_ASSIGN_OR_RETURN(PipelineStatus status,
                            audit::ReadPipelineStatus(config, options.data_dir, audit));
  // A source that is not the one the pipeline committed from, or that lost or rewrote what it
  // committed, has no meaningful lag: the one line that says so, and a non-zero exit.
  ONCEFLOW_RETURN_IF_ERROR(status.refusal);

  fmt::print("pipeline        {}\n", status.pipeline);
  if (!status.last_intent) {
    fmt::print("checkpoint      {}\n", !status.checkpoint_dir.empty()
                                           ? status.checkpoint_dir
                                           : std::string("none: the pipeline has not run"));
    fmt::print("last committed  none\n");
  } else {
    fmt::print("checkpoint      {}\n", status.checkpoint_dir);
    fmt::print("epoch           {}\n", status.epoch.value());
    if (status.last_committed) {
      fmt::print("last committed  batch {}\n", status.last_committed->value());
    } else {
      fmt::print("last committed  none\n");
    }
    if (status.unfinished) {
      fmt::print("unfinished      batch {}, ranges {}: a restart re-runs it with these ranges\n",
                 status.unfinished->batch.value(), sink::EncodeRanges(status.unfinished->ranges));
    } else {
      fmt::print("unfinished      none\n");
    }
  }
  fmt::print("source          {}, {} partitions\n\n", status.source, status.source_partitions);

  // The committed offset of a partition the checkpoint does not know yet is shown as "-".
  fmt::print("{:>9} {:>14} {:>14} {:>14}\n", "PARTITION", "COMMITTED", "END", "LAG");
  for (const PartitionStatus& p : status.partitions) {
    fmt::print("{:>9} {:>14} {:>14} {:>14}\n", p.partition.value(),
               p.committed ? std::to_string(p.committed->value()) : std::string("-"), p.end.value(),
               p.lag);
  }
  fmt::print("{:>9} {:>14} {:>14} {:>14}\n", "total", status.total_committed, status.total_end,
             status.total_lag);
  return Status::Ok();
}

}  // namespace onceflow::cli
