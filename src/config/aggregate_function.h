// The aggregate functions of the pipeline file and the builder: count, sum, min, max, avg.
#pragma once

#include <string_view>

#include "config/pipeline_config.h"
#include "onceflow/status.h"

namespace onceflow::config {

// Parses an aggregate function as the config writes it: "count", "sum(field)", "min(field)",
// "max(field)" or "avg(field)" (spaces allowed). The result's name is left empty.
Result<AggregateConfig::Aggregate> ParseAggregateFunction(std::string_view text);

}  // namespace onceflow::config
