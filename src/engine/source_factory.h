// MakeSource: the source a pipeline's [source] table names. One place knows every source type.
#pragma once

#include <memory>
#include <string>

#include "config/pipeline_config.h"
#include "onceflow/status.h"
#include "source/source.h"

namespace onceflow::engine {

// Opens the source `config.source` names; `data_dir` holds the embedded log's topics.
// Errors name the source.* key at fault.
Result<std::unique_ptr<source::Source>> MakeSource(const config::PipelineConfig& config,
                                                   const std::string& data_dir);

}  // namespace onceflow::engine
