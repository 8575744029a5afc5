// The built-in row transforms (select, rename, filter), each working on the row in place, and
// the filter condition language that the pipeline file uses.
#include "operators/transforms.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <compare>
#include <optional>
#include <utility>

#include "config/condition.h"
#include "expr/expression.h"
#include "operators/compute_transform.h"
#include "operators/value_codec.h"

namespace onceflow::operators {

using config::ConditionToString;
using config::TransformConfig;

namespace {

// A record that lacks a field a transform needs: "<transform>: field 'f' is missing
// (<detail>); on_missing = "null" reads a missing field as null".
Status MissingField(std::string_view transform, std::string_view field,
                    std::string_view detail = {}) {
  std::string message = std::string(transform) + ": field '" + std::string(field) + "' is missing";
  if (!detail.empty()) message += " (" + std::string(detail) + ")";
  message += "; on_missing = \"null\" reads a missing field as null";
  return Status::InvalidArgument(std::move(message));
}

// Keeps the listed fields, in the listed order. A listed field the row lacks is an error
// naming it, or, with missing_as_null, a null field.
class SelectTransform final : public RowTransform {
 public:
  SelectTransform(std::vector<std::string> fields, bool missing_as_null)
      : fields_(std::move(fields)), missing_as_null_(missing_as_null) {}

  Status Apply(Row* row, bool* keep) const override {
    std::vector<Row::Field>& fields = row->mutable_fields();
    // Invariant: fields[0, kept) are the selected fields so far, in the listed order.
    size_t kept = 0;
    for (const std::string& name : fields_) {
      bool found = false;
      for (size_t j = kept; j < fields.size(); ++j) {
        if (fields[j].first == name) {
          if (j != kept) std::swap(fields[kept], fields[j]);
          ++kept;
          found = true;
          break;
        }
      }
      if (found) continue;
      if (!missing_as_null_) return MissingField("select", name);
      fields.emplace(fields.begin() + static_cast<ptrdiff_t>(kept), name, Value());
      ++kept;
    }
    fields.resize(kept);
    return Status::Ok();
  }

 private:
  const std::vector<std::string> fields_;  // distinct names
  const bool missing_as_null_;
};

// Renames fields, all at once (so {a = "b", b = "a"} swaps a and b). A new name that collides
// with a field of the row is an error: silently dropping either field would lose data. A field
// to rename that the row lacks is an error naming it, or, with missing_as_null, a null field
// under the new name.
class RenameTransform final : public RowTransform {
 public:
  RenameTransform(std::vector<std::pair<std::string, std::string>> renames, bool missing_as_null)
      : renames_(std::move(renames)), missing_as_null_(missing_as_null) {}

  Status Apply(Row* row, bool* keep) const override {
    std::vector<Row::Field>& fields = row->mutable_fields();
    for (const auto& [from, to] : renames_) {
      bool present = false;
      for (const Row::Field& field : fields) {
        if (field.first == from) {
          present = true;
          break;
        }
      }
      if (!present && !missing_as_null_) {
        return MissingField("rename", from, "to rename it to '" + to + "'");
      }
    }
    const size_t original = fields.size();
    std::vector<bool> renamed(renames_.size(), false);
    for (size_t i = 0; i < original; ++i) {
      Row::Field& field = fields[i];
      for (size_t r = 0; r < renames_.size(); ++r) {
        if (field.first == renames_[r].first) {
          field.first = renames_[r].second;
          renamed[r] = true;
          break;
        }
      }
    }
    for (size_t r = 0; r < renames_.size(); ++r) {
      if (!renamed[r]) fields.emplace_back(renames_[r].second, Value());  // missing_as_null
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      for (size_t j = i + 1; j < fields.size(); ++j) {
        if (fields[i].first == fields[j].first) {
          return Status::InvalidArgument("rename: the row would have two fields named '" +
                                         fields[i].first + "'");
        }
      }
    }
    return Status::Ok();
  }

 private:
  const std::vector<std::pair<std::string, std::string>> renames_;  // distinct targets
  const bool missing_as_null_;
};

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };

Result<Op> ParseOp(std::string_view op) {
  if (op == "==") return Op::kEq;
  if (op == "!=") return Op::kNe;
  if (op == "<") return Op::kLt;
  if (op == "<=") return Op::kLe;
  if (op == ">") return Op::kGt;
  if (op == ">=") return Op::kGe;
  return Err(Status::InvalidArgument("filter: unknown operator '" + std::string(op) +
                                     "' (expected ==, !=, <, <=, >, >=)"));
}

bool Holds(std::partial_ordering order, Op op) {
  switch (op) {
    case Op::kEq: return order == 0;
    case Op::kNe: return order != 0;  // Also true for unordered (NaN), as IEEE 754 says.
    case Op::kLt: return order < 0;
    case Op::kLe: return order <= 0;
    case Op::kGt: return order > 0;
    case Op::kGe: return order >= 0;
  }
  return false;
}

bool IsNumber(const Value& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}

double AsDouble(const Value& v) {
  return std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v))
                                            : std::get<double>(v);
}

struct CompiledCondition {
  TransformConfig::Condition condition;
  Op op;
  // An expression condition (condition.expression): compiled once; op is unused.
  std::shared_ptr<const expr::Expression> expression;
};

// Keeps a row only if every condition holds (checked in order, stopping at the first that does
// not). A null field fails a condition, except `field == null` / `field != null`, which test
// for exactly that. A missing field is an error naming it, or, with missing_as_null, a null.
class FilterTransform final : public RowTransform {
 public:
  FilterTransform(std::vector<CompiledCondition> conditions, bool missing_as_null)
      : conditions_(std::move(conditions)), missing_as_null_(missing_as_null) {}

  Status Apply(Row* row, bool* keep) const override {
    for (const CompiledCondition& c : conditions_) {
      ONCEFLOW_ASSIGN_OR_RETURN(bool holds, Evaluate(*row, c));
      if (!holds) {
        *keep = false;
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

 private:
  Result<bool> Evaluate(const Row& row, const CompiledCondition& c) const {
    if (c.expression != nullptr) return EvaluateExpression(row, *c.expression);
    const Value* field = row.Get(c.condition.field);
    if (field == nullptr && !missing_as_null_) {
      return Err(MissingField("filter", c.condition.field,
                              "condition '" + ConditionToString(c.condition) + "'"));
    }
    const Value& literal = c.condition.literal;
    bool field_null = field == nullptr || std::holds_alternative<std::monostate>(*field);
    if (std::holds_alternative<std::monostate>(literal)) {
      return c.op == Op::kEq ? field_null : !field_null;
    }
    if (field_null) return false;
    if (IsNumber(*field) && IsNumber(literal)) {
      if (std::holds_alternative<int64_t>(*field) && std::holds_alternative<int64_t>(literal)) {
        return Holds(std::get<int64_t>(*field) <=> std::get<int64_t>(literal), c.op);
      }
      return Holds(AsDouble(*field) <=> AsDouble(literal), c.op);
    }
    if (field->index() == literal.index()) {
      if (const std::string* s = std::get_if<std::string>(field)) {
        return Holds(std::string_view(*s) <=> std::string_view(std::get<std::string>(literal)),
                     c.op);
      }
      // Booleans: MakeTransforms allows only == and != with a boolean literal.
      return Holds(std::get<bool>(*field) <=> std::get<bool>(literal), c.op);
    }
    return Err(Status::InvalidArgument(
        "filter: field '" + c.condition.field + "' is " + TypeName(*field) + ", the condition '" +
        ConditionToString(c.condition) + "' compares it with " + TypeName(literal)));
  }

  // SQL's WHERE: the row stays only if the condition is TRUE (FALSE and NULL drop it).
  Result<bool> EvaluateExpression(const Row& row, const expr::Expression& e) const {
    expr::EvalContext& ctx = ThreadEvalContext();
    expr::Datum d = e.Eval(row, missing_as_null_, &ctx);
    if (ctx.failed()) {
      return Err(Status::InvalidArgument("filter: '" + e.text() + "': column " +
                                         std::to_string(ctx.error_column()) + ": " + ctx.error()));
    }
    if (d.null()) return false;
    if (d.type != expr::Type::kBool) {
      return Err(Status::InvalidArgument("filter: '" + e.text() + "' is " + expr::Describe(d) +
                                         ", not a BOOLEAN"));
    }
    return d.b;
  }

  const std::vector<CompiledCondition> conditions_;
  const bool missing_as_null_;
};

}  // namespace

Result<std::vector<std::unique_ptr<RowTransform>>> MakeTransforms(
    const std::vector<TransformConfig>& configs) {
  std::vector<std::unique_ptr<RowTransform>> transforms;
  for (size_t i = 0; i < configs.size(); ++i) {
    const TransformConfig& config = configs[i];
    std::string where = "transform " + std::to_string(i) + ": ";
    switch (config.type) {
      case TransformConfig::Type::kSelect: {
        if (config.fields.empty()) return Err(Status::InvalidArgument(where + "select: no fields"));
        for (size_t j = 0; j < config.fields.size(); ++j) {
          for (size_t k = 0; k < j; ++k) {
            if (config.fields[j] == config.fields[k]) {
              return Err(Status::InvalidArgument(where + "select: '" + config.fields[j] +
                                                 "' is listed twice"));
            }
          }
        }
        transforms.push_back(
            std::make_unique<SelectTransform>(config.fields, config.missing_as_null));
        break;
      }
      case TransformConfig::Type::kRename: {
        if (config.renames.empty())
          return Err(Status::InvalidArgument(where + "rename: no fields"));
        for (size_t j = 0; j < config.renames.size(); ++j) {
          for (size_t k = 0; k < j; ++k) {
            if (config.renames[j].first == config.renames[k].first ||
                config.renames[j].second == config.renames[k].second) {
              return Err(Status::InvalidArgument(where + "rename: '" + config.renames[j].first +
                                                 "' -> '" + config.renames[j].second +
                                                 "' repeats a name of an earlier rename"));
            }
          }
        }
        transforms.push_back(
            std::make_unique<RenameTransform>(config.renames, config.missing_as_null));
        break;
      }
      case TransformConfig::Type::kFilter: {
        if (config.conditions.empty()) {
          return Err(Status::InvalidArgument(where + "filter: no conditions"));
        }
        std::vector<CompiledCondition> conditions;
        for (const TransformConfig::Condition& condition : config.conditions) {
          if (!condition.expression.empty()) {
            Result<std::unique_ptr<expr::Expression>> e =
                expr::Expression::Compile(condition.expression);
            if (!e.has_value()) {
              return Err(Status::InvalidArgument(where + "filter: '" + condition.expression +
                                                 "': " + e.error().message()));
            }
            conditions.push_back(CompiledCondition{condition, Op::kEq, std::move(*e)});
            continue;
          }
          Result<Op> op = ParseOp(condition.op);
          if (!op.has_value())
            return Err(op.error().WithContext(where.substr(0, where.size() - 2)));
          const Value& literal = condition.literal;
          bool ordered = *op != Op::kEq && *op != Op::kNe;
          if (ordered && !IsNumber(literal) && !std::holds_alternative<std::string>(literal)) {
            return Err(Status::InvalidArgument(where + "filter: '" + ConditionToString(condition) +
                                               "': '" + condition.op +
                                               "' needs a number or a string"));
          }
          if (condition.field.empty()) {
            return Err(Status::InvalidArgument(where + "filter: a condition has no field"));
          }
          conditions.push_back(CompiledCondition{condition, *op, nullptr});
        }
        transforms.push_back(
            std::make_unique<FilterTransform>(std::move(conditions), config.missing_as_null));
        break;
      }
      case TransformConfig::Type::kCompute: {
        Result<std::unique_ptr<RowTransform>> compute = MakeComputeTransform(config);
        if (!compute.has_value()) {
          return Err(compute.error().WithContext(where.substr(0, where.size() - 2)));
        }
        transforms.push_back(std::move(*compute));
        break;
      }
      case TransformConfig::Type::kAggregate:
        // A keyed, stateful operator (aggregate_operator.h), not a row transform: the caller
        // takes it out of the list first.
        return Err(Status::InvalidArgument(where + "aggregate: not a row transform"));
    }
  }
  return transforms;
}

}  // namespace onceflow::operators
