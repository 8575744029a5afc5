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
Result<OpenedSource> OpenPipelineSource(const config::PipelineConfig& config,
                                        const std::string& data_dir);

// The checks `run` makes at start (engine/source_check.h): the source is the one the
// checkpoint `cp` committed from and still holds, unchanged, the records it committed. Returns
// the one line that says what is wrong, with `run`'s way out built from `reset_command`
// (engine::ResetWayOut, engine::LossOrResetWayOut).
Status CheckPipelineSource(const config::PipelineConfig& config, const CheckpointState& cp,
                           OpenedSource* source, const std::string& reset_command,
                           const std::string& data_dir);

}  // namespace onceflow::audit
