// Built-in row transforms between source and sink: select (keep fields, in order), rename,
// filter (comparisons on fields, all of which must hold).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pipeline_config.h"
#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::engine {

// select keeps the listed fields in the listed order (a listed field the row lacks is skipped).
// rename renames all at once ({a = "b", b = "a"} swaps); a new name that collides with another
// field of the row is an error. filter keeps a row only if every condition holds, checked in
// order up to the first that does not: numbers compare with numbers (integer and float mixed),
// strings with strings (byte order), booleans with == and != only; a missing or null field
// fails the condition, except `field == null` (true exactly when missing or null) and
// `field != null`; a field of another type than the literal is an error naming both types.
//
// Thread-safety: Apply is const; transforms are shared by all task threads.
class RowTransform {
 public:
  virtual ~RowTransform() = default;
  // Transforms *row in place. Sets *keep = false to drop it (filter), else leaves *keep alone:
  // the caller starts from true. An error (invalid_argument: a comparison between a string
  // field and a number literal, say) sends the record to the dead letters.
  virtual Status Apply(Row* row, bool* keep) const = 0;
};

// Builds the transforms of `configs`, in order. invalid_argument for a config that cannot work
// (a select without fields, an unknown operator, `<` with a boolean literal, ...).
Result<std::vector<std::unique_ptr<RowTransform>>> MakeTransforms(
    const std::vector<TransformConfig>& configs);

// The filter language. ParseCondition reads `field op literal`: op one of == != < <= > >=,
// literal an integer, a float, true, false, null or a "quoted string" (in which a backslash
// keeps the next character: \" and \\); true, false and null only with == and !=. An error's
// message says what is wrong without repeating `text`. ConditionToString writes a condition
// back in that form.
Result<TransformConfig::Condition> ParseCondition(std::string_view text);
std::string ConditionToString(const TransformConfig::Condition& condition);

}  // namespace onceflow::engine
