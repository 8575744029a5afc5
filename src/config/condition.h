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
// A filter's condition as the pipeline file and PipelineBuilder::Where take it: the form above
// when ParseCondition reads it (its semantics unchanged: `x == null` tests for null), else an
// expression of the expression language (src/expr/parser.h: `a = 1 AND b IS NOT NULL`,
// `MOD(auction, 123) = 0`), parsed and type-checked here, whose type must be BOOLEAN (or a
// field's). The error, when both fail, is ParseCondition's if it got as far as a field and an
// operator (`amount >> 0`), else the expression's, "column N: ...".
Result<TransformConfig::Condition> ParseWhere(std::string_view text);
// Either form back as text that parses to the same condition.
std::string ConditionToString(const TransformConfig::Condition& condition);

}  // namespace onceflow::config
