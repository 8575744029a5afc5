// MakeSink: the sink a pipeline's [sink] table names. One place knows every sink type.
#pragma once

#include <memory>

#include "config/pipeline_config.h"
#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::engine {

// Creates (does not open) the sink `config` names. Errors name the sink.* key at fault.
Result<std::unique_ptr<sink::Sink>> MakeSink(const config::SinkConfig& config);

}  // namespace onceflow::engine
