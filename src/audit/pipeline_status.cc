// ReadPipelineStatus: the checkpoint, the source's offsets and the sink's progress rows.
#include "audit/pipeline_status.h"

#include <optional>
#include <utility>
#include <vector>

#include "audit/checkpoint_state.h"
#include "audit/pipeline_source.h"
#include "audit/pipeline_verifier.h"
#include "engine/source_check.h"

namespace onceflow::audit {

Result<PipelineStatus> ReadPipelineStatus(const config::PipelineConfig& config,
                                          const std::string& data_dir,
                                          const AuditOptions& options) {
  auto read = ReadCheckpointState(data_dir, config.name);
  if (!read.has_value()) {
    // A damaged checkpoint names its file; starting afresh is the way out.
    return Err(engine::WithWayOut(
        read.error(), engine::ResetWayOut(options.reset_command, data_dir, config.name)));
  }
  std::optional<CheckpointState> cp = std::move(*read);
  ONCEFLOW_ASSIGN_OR_RETURN(OpenedSource opened, OpenPipelineSource(config, data_dir));

  PipelineStatus status;
  status.pipeline = config.name;
  if (cp) {
    status.checkpoint_dir = cp->dir;
    status.epoch = cp->epoch;
    status.last_committed = cp->last_commit;
    if (cp->last_intent) {
      status.last_intent = cp->last_intent->batch;
      if (cp->unfinished) {
        status.unfinished = UnfinishedBatch{cp->last_intent->batch, cp->last_intent->ranges};
      }
    }
  }
  // The source's identity (with the topic id or the Kafka cluster): what the checkpoint records.
  auto identity = opened.source->Identity();
  status.source = identity.has_value() ? identity->ToString() : opened.source->Describe();
  status.source_partitions = static_cast<int32_t>(opened.partitions.size());

  if (options.read_sink_progress) {
    auto progress = ReadSinkProgress(config.sink, config.name, data_dir);
    if (progress.has_value()) {
      for (const auto& [task, row] : *progress) {
        status.sink_progress.push_back({task, row.last_batch, row.epoch, row.ranges});
      }
    } else {
      status.sink_error = progress.error();
    }
  }

  // A source that is not the one the pipeline committed from, or that lost or rewrote what it
  // committed, has no meaningful lag: the refusal alone.
  if (cp) {
    status.refusal = CheckPipelineSource(config, *cp, &opened, options.reset_command, data_dir);
    if (!status.refusal.ok()) return status;
  }
  // The committed offset of a partition the checkpoint does not know yet is nullopt; its lag
  // counts everything the topic holds (where a new partition starts).
  const std::vector<SourcePartition>& source = opened.partitions;
  for (size_t p = 0; p < source.size(); ++p) {
    PartitionStatus part;
    part.partition = PartitionId(static_cast<int32_t>(p));
    if (cp && p < cp->committed.size() && cp->committed[p].value() >= 0) {
      part.committed = cp->committed[p];
    }
    part.earliest = source[p].earliest;
    part.end = source[p].end;
    part.lag = part.end - part.committed.value_or(part.earliest);
    if (part.lag < 0) {  // CheckPipelineSource refuses this first; never report a negative lag
      return Err(Status::Corruption(
          "partition " + std::to_string(p) + ": the source ends at offset " +
          std::to_string(part.end.value()) + " but the pipeline committed up to " +
          std::to_string(part.committed.value_or(part.earliest).value())));
    }
    if (part.committed) status.total_committed += part.committed->value();
    status.total_end += part.end.value();
    status.total_lag += part.lag;
    status.partitions.push_back(part);
  }
  return status;
}

}  // namespace onceflow::audit
