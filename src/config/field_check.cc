// Whether every field the transforms need can exist, checked before any record is read.
#include "config/field_check.h"

#include <algorithm>
#include <string>

#include "expr/expression.h"

namespace onceflow::config {
namespace {

// The fields an expression reads; none for one that does not compile (the validator refuses
// it with its own message).
std::vector<std::string> FieldsOf(const std::string& text) {
  Result<std::unique_ptr<expr::Expression>> e = expr::Expression::Compile(text);
  return e.has_value() ? (*e)->fields() : std::vector<std::string>();
}

}  // namespace

Status CheckFieldsExist(const std::vector<TransformConfig>& configs,
                        const std::vector<std::string>& columns, std::string_view source) {
  std::vector<std::string> fields = columns;  // the fields a row can have at this point
  auto can_exist = [&](const std::string& f) {
    return std::find(fields.begin(), fields.end(), f) != fields.end();
  };
  auto refuse = [&](const std::string& key, const std::string& f) {
    std::string have;
    for (const std::string& c : fields) have += (have.empty() ? "" : ", ") + c;
    return Status::InvalidArgument(key + ": field '" + f + "' can never exist: the rows have " +
                                   (have.empty() ? std::string("no fields") : have) + " here (" +
                                   std::string(source) + ")");
  };
  for (size_t i = 0; i < configs.size(); ++i) {
    const TransformConfig& t = configs[i];
    const std::string prefix = "transform[" + std::to_string(i) + "]";
    switch (t.type) {
      case TransformConfig::Type::kSelect:
        for (size_t j = 0; j < t.fields.size(); ++j) {
          if (!t.missing_as_null && !can_exist(t.fields[j])) {
            return refuse(prefix + ".fields[" + std::to_string(j) + "]", t.fields[j]);
          }
        }
        fields = t.fields;
        break;
      case TransformConfig::Type::kRename: {
        for (const auto& [from, to] : t.renames) {
          if (!t.missing_as_null && !can_exist(from)) {
            return refuse(prefix + ".fields." + from, from);
          }
        }
        for (std::string& f : fields) {
          for (const auto& [from, to] : t.renames) {
            if (f == from) {
              f = to;
              break;
            }
          }
        }
        for (const auto& [from, to] : t.renames) {
          if (!can_exist(to)) fields.push_back(to);  // missing_as_null: a null under `to`
        }
        break;
      }
      case TransformConfig::Type::kFilter:
        for (size_t j = 0; j < t.conditions.size(); ++j) {
          const TransformConfig::Condition& c = t.conditions[j];
          const std::string key = prefix + ".where[" + std::to_string(j) + "]";
          if (t.missing_as_null) continue;
          if (!c.expression.empty()) {
            for (const std::string& f : FieldsOf(c.expression)) {
              if (!can_exist(f)) return refuse(key, f);
            }
          } else if (!can_exist(c.field)) {
            return refuse(key, c.field);
          }
        }
        break;
      case TransformConfig::Type::kCompute:
        for (const auto& [name, text] : t.computed) {
          if (!t.missing_as_null) {
            for (const std::string& f : FieldsOf(text)) {
              if (!can_exist(f)) return refuse(prefix + ".fields." + name, f);
            }
          }
          if (!can_exist(name)) fields.push_back(name);
        }
        break;
      case TransformConfig::Type::kAggregate: {
        const AggregateConfig& a = t.aggregate;
        for (const std::string& f : a.key) {
          if (!can_exist(f)) return refuse(prefix + ".key", f);
        }
        for (const AggregateConfig::Aggregate& agg : a.aggregates) {
          if (!agg.field.empty() && !can_exist(agg.field)) {
            return refuse(prefix + ".aggregates." + agg.name, agg.field);
          }
        }
        if (a.windowed && !can_exist(a.window.time_field)) {
          return refuse(prefix + ".window.time_field", a.window.time_field);
        }
        break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace onceflow::config
