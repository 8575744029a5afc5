// The filter condition language of the pipeline file and the builder.
#pragma once

#include <string>
#include <string_view>

#include "config/pipeline_config.h"
#include "onceflow/status.h"

namespace onceflow::config {

// The filter language. ParseCondition reads `field op literal`: op one of == != < <= > >=,
// literal an integer, a float, true, false, null or a "quoted string" (in which a backslash
// keeps the next character: \" and \\); true, false and null only with == and !=. An error's
// message says what is wrong without repeating `text`. ConditionToString writes a condition
// back in that form.
Result<TransformConfig::Condition> ParseCondition(std::string_view text);
std::string ConditionToString(const TransformConfig::Condition& condition);

}  // namespace onceflow::config
