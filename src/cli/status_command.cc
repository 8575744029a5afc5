// `onceflow status PIPELINE.toml`: where a pipeline stands — last committed batch, epoch,
// unfinished batch, and per partition the committed offset, the source's end and the lag. Reads
// the checkpoint and the topic read-only, so it works while the pipeline runs.
#include <fmt/core.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/pipeline_state.h"
#include "config/pipeline_config.h"
#include "engine/source_check.h"
#include "sink/sink.h"

namespace onceflow::cli {

Status RunStatus(const PipelineInspectOptions& options) {
  ONCEFLOW_ASSIGN_OR_RETURN(config::PipelineConfig config, config::LoadPipelineConfig(options.config_path));
  ONCEFLOW_RETURN_IF_ERROR(RequireDataDir(options.data_dir));
  auto read = ReadCheckpointState(options.data_dir, config.name);
  if (!read.has_value()) {
    // A damaged checkpoint names its file; starting afresh is the way out.
    return engine::WithWayOut(read.error(), ResetAdvice(options.config_path, options.data_dir));
  }
  std::optional<CheckpointState> cp = std::move(*read);
  ONCEFLOW_ASSIGN_OR_RETURN(OpenedSource opened, OpenPipelineSource(config, options.data_dir));
  // A source that is not the one the pipeline committed from, or that lost or rewrote what it
  // committed, has no meaningful lag: the one line that says so, and a non-zero exit.
  if (cp) {
    ONCEFLOW_RETURN_IF_ERROR(
        CheckPipelineSource(config, *cp, &opened, options.config_path, options.data_dir));
  }
  const std::vector<SourcePartition>& source = opened.partitions;

  fmt::print("pipeline        {}\n", config.name);
  if (!cp || !cp->last_intent) {
    fmt::print("checkpoint      {}\n",
               cp ? cp->dir : std::string("none: the pipeline has not run"));
    fmt::print("last committed  none\n");
  } else {
    fmt::print("checkpoint      {}\n", cp->dir);
    fmt::print("epoch           {}\n", cp->epoch.value());
    if (cp->last_commit) {
      fmt::print("last committed  batch {}\n", cp->last_commit->value());
    } else {
      fmt::print("last committed  none\n");
    }
    if (cp->unfinished) {
      fmt::print("unfinished      batch {}, ranges {}: a restart re-runs it with these ranges\n",
                 cp->last_intent->batch.value(), sink::EncodeRanges(cp->last_intent->ranges));
    } else {
      fmt::print("unfinished      none\n");
    }
  }
  // The source's identity (with the topic id or the Kafka cluster): what the checkpoint records.
  auto identity = opened.source->Identity();
  fmt::print("source          {}, {} partitions\n\n",
             identity.has_value() ? identity->ToString() : opened.source->Describe(),
             source.size());

  // The committed offset of a partition the checkpoint does not know yet is shown as "-"; its
  // lag counts everything the topic holds (where a new partition starts).
  fmt::print("{:>9} {:>14} {:>14} {:>14}\n", "PARTITION", "COMMITTED", "END", "LAG");
  int64_t total_committed = 0, total_end = 0, total_lag = 0;
  for (size_t p = 0; p < source.size(); ++p) {
    const bool known = cp && p < cp->committed.size() && cp->committed[p].value() >= 0;
    const int64_t end = source[p].end.value();
    const int64_t lag = known ? end - cp->committed[p].value() : end - source[p].earliest.value();
    if (lag < 0) {  // CheckPipelineSource refuses this first; never print a negative lag
      return Status::Corruption(fmt::format(
          "partition {}: the source ends at offset {} but the pipeline committed up to {}", p,
          end, known ? cp->committed[p].value() : source[p].earliest.value()));
    }
    fmt::print("{:>9} {:>14} {:>14} {:>14}\n", p,
               known ? std::to_string(cp->committed[p].value()) : std::string("-"), end, lag);
    if (known) total_committed += cp->committed[p].value();
    total_end += end;
    total_lag += lag;
  }
  fmt::print("{:>9} {:>14} {:>14} {:>14}\n", "total", total_committed, total_end, total_lag);
  return Status::Ok();
}

}  // namespace onceflow::cli
