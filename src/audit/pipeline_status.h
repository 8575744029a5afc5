// ReadPipelineStatus: where a pipeline stands (the public PipelineStatus) — its checkpoint, its
// source's offsets and lag, its sink's progress rows. Pipeline::Status and `onceflow status`.
#pragma once

#include <string>

#include "config/pipeline_config.h"
#include "onceflow/pipeline_status.h"
#include "onceflow/status.h"

namespace onceflow::audit {

// Reads the checkpoint of `config.name` under `data_dir` and the source's offsets read-only (so
// it works while the pipeline runs), and, if options.read_sink_progress, the sink's progress
// rows. A source `run` would refuse is reported in PipelineStatus::refusal, not as an error.
// Returns an error when something cannot be read: a damaged checkpoint (naming its file and the
// way out), a source that cannot be opened, or a source that ends before the committed offset.
Result<PipelineStatus> ReadPipelineStatus(const config::PipelineConfig& config,
                                          const std::string& data_dir, const AuditOptions& options);

}  // namespace onceflow::audit
