// The compute transform: fields computed from expressions (`price_eur = "price * 0.908"`).
#pragma once

#include <memory>

#include "config/pipeline_config.h"
#include "expr/eval_node.h"
#include "operators/transforms.h"

namespace onceflow::operators {

// Compiles the expressions of a compute transform (config.computed) once. Apply evaluates them
// in order, each setting its field (replacing one of the same name, else appended) so that a
// later expression sees the fields computed before it. A failure (a division by zero, a value
// of a type the operator does not take, a missing field without on_missing = "null") is an
// error naming the field, the expression and the column, which sends the record to the dead
// letters (which keep the source record; the row is dropped).
// invalid_argument for an expression that does not compile (the validator refuses it first).
Result<std::unique_ptr<RowTransform>> MakeComputeTransform(const config::TransformConfig& config);

// The evaluation context of the calling thread: its scratch strings are reused from row to row
// by every expression the thread evaluates.
expr::EvalContext& ThreadEvalContext();

}  // namespace onceflow::operators
