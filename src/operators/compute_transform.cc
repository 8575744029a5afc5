// The compute transform: compiled expressions, evaluated per row.
#include "operators/compute_transform.h"

#include <string>
#include <utility>
#include <vector>

#include "expr/expression.h"

namespace onceflow::operators {
namespace {

class ComputeTransform final : public RowTransform {
 public:
  struct Computed {
    std::string name;
    std::unique_ptr<expr::Expression> expression;
  };
  ComputeTransform(std::vector<Computed> computed, bool missing_as_null)
      : computed_(std::move(computed)), missing_as_null_(missing_as_null) {}

  Status Apply(Row* row, bool* keep) const override {
    expr::EvalContext& ctx = ThreadEvalContext();
    for (const Computed& c : computed_) {
      expr::Datum d = c.expression->Eval(*row, missing_as_null_, &ctx);
      if (ctx.failed()) return Failure(c, ctx);
      row->Set(c.name, expr::ToValue(d));
    }
    return Status::Ok();
  }

 private:
  static Status Failure(const Computed& c, const expr::EvalContext& ctx) {
    return Status::InvalidArgument("compute: " + c.name + " = '" + c.expression->text() +
                                   "': column " + std::to_string(ctx.error_column()) + ": " +
                                   ctx.error());
  }

  const std::vector<Computed> computed_;
  const bool missing_as_null_;
};

}  // namespace

expr::EvalContext& ThreadEvalContext() {
  thread_local expr::EvalContext ctx;
  return ctx;
}

Result<std::unique_ptr<RowTransform>> MakeComputeTransform(const config::TransformConfig& config) {
  if (config.computed.empty()) return Err(Status::InvalidArgument("compute: no fields"));
  std::vector<ComputeTransform::Computed> computed;
  for (const auto& [name, text] : config.computed) {
    Result<std::unique_ptr<expr::Expression>> e = expr::Expression::Compile(text);
    if (!e.has_value()) {
      return Err(Status::InvalidArgument("compute: " + name + " = '" + text +
                                         "': " + e.error().message()));
    }
    computed.push_back({name, std::move(*e)});
  }
  return std::unique_ptr<RowTransform>(
      std::make_unique<ComputeTransform>(std::move(computed), config.missing_as_null));
}

}  // namespace onceflow::operators
