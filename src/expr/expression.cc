// Expression: parse, type check, compile into evaluation nodes; evaluate.
#include "expr/expression.h"

#include "expr/eval_nodes.h"
#include "expr/parser.h"
#include "expr/type_check.h"

namespace onceflow::expr {
namespace {

// Builds the evaluation node of `n` and its children; every node gets a scratch slot number.
Result<EvalNodeP> CompileNode(const Node& n, size_t* slots) {
  std::vector<EvalNodeP> children;
  for (const auto& child : n.children) {
    ONCEFLOW_ASSIGN_OR_RETURN(EvalNodeP c, CompileNode(*child, slots));
    children.push_back(std::move(c));
  }
  const int slot = static_cast<int>((*slots)++);
  switch (n.kind) {
    case Node::Kind::kLiteral: return MakeLiteral(n);
    case Node::Kind::kField: return MakeField(n);
    case Node::Kind::kUnary: return MakeUnary(n, std::move(children[0]));
    case Node::Kind::kBinary:
      return MakeBinary(n, std::move(children[0]), std::move(children[1]), slot);
    case Node::Kind::kIsNull: return MakeIsNull(n, std::move(children[0]));
    case Node::Kind::kIn: return MakeIn(n, std::move(children));
    case Node::Kind::kCase: return MakeCase(n, std::move(children));
    case Node::Kind::kCast: return MakeCast(n, std::move(children[0]), slot);
    case Node::Kind::kCall: return MakeCall(n, std::move(children), slot);
  }
  return Err(Status::InvalidArgument("unknown node"));
}

}  // namespace

Result<std::unique_ptr<Expression>> Expression::Compile(std::string_view text) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Node> root, Parse(text));
  ONCEFLOW_RETURN_IF_ERROR(TypeCheck(root.get()));
  std::unique_ptr<Expression> e(new Expression());
  e->text_ = std::string(text);
  e->type_ = root->type;
  e->fields_ = FieldsOf(*root);
  ONCEFLOW_ASSIGN_OR_RETURN(e->root_, CompileNode(*root, &e->slots_));
  return e;
}

Status Expression::FailureOf(const EvalContext& ctx) {
  return Status::InvalidArgument("column " + std::to_string(ctx.error_column()) + ": " +
                                 ctx.error());
}

Status Expression::Evaluate(const Row& row, bool missing_as_null, EvalContext* ctx,
                            Value* out) const {
  Datum d = Eval(row, missing_as_null, ctx);
  if (ctx->failed()) return FailureOf(*ctx);
  *out = ToValue(d);
  return Status::Ok();
}

}  // namespace onceflow::expr
