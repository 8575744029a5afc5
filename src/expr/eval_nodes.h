// The makers of the compiled tree's nodes (eval_node.h), one per kind of syntax node; the
// compiler (compiler.cc) calls them bottom-up. The node classes stay in their .cc files.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "expr/ast.h"
#include "expr/eval_node.h"
#include "onceflow/status.h"

namespace onceflow::expr {

// `n` is the type-checked syntax node; `slot` a scratch string of the context that the node
// may use for the strings it builds. eval_ops.cc:
EvalNodeP MakeLiteral(const Node& n);
EvalNodeP MakeField(const Node& n);
EvalNodeP MakeUnary(const Node& n, EvalNodeP operand);
EvalNodeP MakeBinary(const Node& n, EvalNodeP a, EvalNodeP b, int slot);
EvalNodeP MakeIsNull(const Node& n, EvalNodeP operand);
EvalNodeP MakeIn(const Node& n, std::vector<EvalNodeP> operands);
EvalNodeP MakeCase(const Node& n, std::vector<EvalNodeP> operands);
EvalNodeP MakeCast(const Node& n, EvalNodeP operand, int slot);
// Arithmetic on two numbers as the binary operators do it (also MOD): `op` one of + - * / %.
Datum Arithmetic(EvalContext& ctx, int column, char op, const Datum& a, const Datum& b);
enum class CmpOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
// "=" "!=" "<" "<=" ">" ">=" (also "IN": equality) and back.
CmpOp ToCmpOp(std::string_view op);
std::string_view CmpOpName(CmpOp op);
// The three-valued comparison `a op b`: NULL if either is NULL, an error
// for values of types that do not compare.
Datum Compare(EvalContext& ctx, int column, CmpOp op, const Datum& a, const Datum& b);

// eval_functions.cc: a function call. invalid_argument "column N: ..." for what only the
// compiler finds (a regular expression that does not compile, a group it does not have).
Result<EvalNodeP> MakeCall(const Node& n, std::vector<EvalNodeP> args, int slot);

}  // namespace onceflow::expr
