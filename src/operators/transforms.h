// Built-in row transforms between source and sink: select (keep fields, in order), rename,
// filter (comparisons on fields or expressions, all of which must hold), compute (fields from
// expressions: compute_transform.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::operators {

// select keeps the listed fields in the listed order. rename renames all at once
// ({a = "b", b = "a"} swaps); a new name that collides with another field of the row is an
// error. filter keeps a row only if every condition holds, checked in order up to the first
// that does not: numbers compare with numbers (integer and float mixed), strings with strings
// (byte order), booleans with == and != only; a null field fails the condition, except
// `field == null` (true exactly when null) and `field != null`; a field of another type than
// the literal is an error naming both types. A condition that is an expression
// (Condition::expression, src/expr/) holds when it is TRUE (FALSE and NULL do not hold, as in
// SQL's WHERE); a failure while evaluating it, or a value that is not a BOOLEAN, is an error
// naming the expression.
// A field that select, rename or filter needs and the row lacks is an error naming the field
// (the record becomes a dead letter: never a silent drop), unless the transform reads missing
// fields as null (TransformConfig::missing_as_null): then select outputs it as null, rename
// gives the new name a null, and filter compares a null.
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
    const std::vector<config::TransformConfig>& configs);

}  // namespace onceflow::operators
