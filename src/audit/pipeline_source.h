// A pipeline's source opened for a look (status, verify, reset), and the checks `run` makes of
// it at start: it is the source the checkpoint committed from and still holds, unchanged, the
// records it committed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "audit/checkpoint_state.h"
#include "config/pipeline_config.h"
#include "onceflow/status.h"
#include "source/source.h"

namespace onceflow::audit {

// A pipeline's source opened for a look: a log topic read-only, a Kafka topic without joining
// the consumer group. `partitions` are its offsets at the time of opening.
struct OpenedSource {
  std::unique_ptr<source::Source> source;
  source::Source::Bounds bounds;
  std::vector<SourcePartition> partitions;
};
Result<OpenedSource> OpenPipelineSource(const engine::PipelineConfig& config,
                                        const std::string& data_dir);

// The checks `run` makes at start (engine/source_check.h): the source is the one the
// checkpoint `cp` committed from and still holds, unchanged, the records it committed. Returns
// the one line that says what is wrong, with the way out ResetWayOut / LossWayOutOf name.
Status CheckPipelineSource(const engine::PipelineConfig& config, const CheckpointState& cp,
                           OpenedSource* source, const std::string& reset_command,
                           const std::string& data_dir);

// The sentence of refusals that need the pipeline started afresh: run `reset_command`, or
// (empty) delete its checkpoint directory under `data_dir` and the sink's progress rows. The
// same words as `run`'s refusals (RunOptions::reset_command).
std::string ResetWayOut(const std::string& reset_command, const std::string& data_dir,
                        const std::string& pipeline);
// The sentence of a refusal of lost or rewritten records: `reset_command` with --accept-loss
// (when it ends in " --yes"), or a reset; else ResetWayOut.
std::string LossWayOutOf(const std::string& reset_command, const std::string& data_dir,
                         const std::string& pipeline);

}  // namespace onceflow::audit
