// Validate: the one check of a PipelineConfig, whether it was read from TOML or built in code
// (PipelineBuilder). The TOML reader checks what only a file has (syntax, unknown keys, types,
// keys of another type or mode) and then calls Validate; the builder calls it from Build().
#pragma once

#include "config/pipeline_config.h"
#include "onceflow/status.h"

namespace onceflow::config {

// What a pipeline built in code has beyond its PipelineConfig.
struct CodeOperators {
  bool update_state = false;  // PipelineBuilder::UpdateState: a stateful operator
  bool no_sink = false;       // only a ForeachBatch: config.sink is not used
};

// Checks every setting of `config` that is not TOML syntax: the pipeline name (it names the
// checkpoint directory under <data>/pipelines, so "..", "/" or an empty name are refused), the
// limits, the source's topic and options, the transforms (an aggregate last, fields a csv or raw
// source cannot have), commit_mode against a stateful operator, group assignment against an
// aggregate, and the sink's options against its mode. Returns the first problem as
// invalid_argument "<file>: <key>: <what is wrong>", where <file> is config.file or "pipeline
// config" and <key> is the TOML key (e.g. "pipeline config: name: must be letters, digits, '.',
// '_' or '-', got '../x'").
Status Validate(const PipelineConfig& config, const CodeOperators& code = {});

}  // namespace onceflow::config
