// MakeSink: the sink a pipeline's [sink] table names. One place knows every sink type.
#pragma once

#include <memory>
#include <string>

#include "config/pipeline_config.h"
#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::engine {

// Creates (does not open) the sink `config` names. Errors name the sink.* key at fault.
// `checkpoint_dir`: the pipeline's checkpoint directory, where the blackhole sink keeps its
// progress rows (other sinks ignore it).
Result<std::unique_ptr<sink::Sink>> MakeSink(const config::SinkConfig& config,
                                             const std::string& checkpoint_dir);

}  // namespace onceflow::engine
