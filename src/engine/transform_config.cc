// ConfigChecker::CheckTransform: one [[transform]] table.
#include "engine/config_checker.h"

#include <algorithm>

#include "engine/transforms.h"

namespace onceflow::engine::config {

Status ConfigChecker::CheckTransform(const toml::table& table, const std::string& prefix,
                                     TransformConfig* transform) const {
  using Type = TransformConfig::Type;
  Entry type = At(table, prefix, "type");
  if (type.node == nullptr) return Error(type.key, "required (one of select, rename, filter)");
  static constexpr Choice<Type> kTypes[] = {
      {"select", Type::kSelect}, {"rename", Type::kRename}, {"filter", Type::kFilter}};
  RETURN_IF_ERROR(ReadChoice<Type>(type, kTypes, &transform->type));
  if (transform->type == Type::kFilter) {
    static constexpr std::string_view kKeys[] = {"type", "where"};
    RETURN_IF_ERROR(CheckKeys(table, prefix, kKeys));
    Entry where = At(table, prefix, "where");
    RETURN_IF_ERROR(Required(where));
    std::vector<std::string> conditions;
    RETURN_IF_ERROR(ReadStringArray(where, /*unique=*/false, &conditions));
    for (size_t i = 0; i < conditions.size(); ++i) {
      Result<TransformConfig::Condition> condition = ParseCondition(conditions[i]);
      if (!condition.has_value()) {
        return Error(where.key + "[" + std::to_string(i) + "]",
                     "cannot parse '" + conditions[i] + "': " + condition.error().message());
      }
      transform->conditions.push_back(std::move(*condition));
    }
    return Status::Ok();
  }
  static constexpr std::string_view kKeys[] = {"type", "fields"};
  RETURN_IF_ERROR(CheckKeys(table, prefix, kKeys));
  Entry fields = At(table, prefix, "fields");
  RETURN_IF_ERROR(Required(fields));
  if (transform->type == Type::kSelect) {
    return ReadStringArray(fields, /*unique=*/true, &transform->fields);
  }
  const toml::table* renames = fields.node->as_table();
  if (renames == nullptr) {
    return Error(fields.key,
                 "expected a table of old = \"new\" names, got " + Describe(*fields.node));
  }
  if (renames->empty()) return Error(fields.key, "must not be empty");
  std::vector<std::pair<const toml::key*, const toml::node*>> ordered;
  for (const auto& [key, node] : *renames) ordered.emplace_back(&key, &node);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return Position(a.first->source()) < Position(b.first->source());
  });
  for (const auto& [key, node] : ordered) {
    std::string from(key->str());
    std::string full_key = fields.key + "." + from;
    if (from.empty()) return Error(full_key, "the old name must not be empty");
    std::string to;
    RETURN_IF_ERROR(ReadString(Entry{node, full_key}, &to));
    if (to.empty()) return Error(full_key, "the new name must not be empty");
    for (const auto& [other_from, other_to] : transform->renames) {
      if (other_to == to) {
        return Error(full_key, "'" + to + "' is also the new name of '" + other_from + "'");
      }
    }
    transform->renames.emplace_back(std::move(from), std::move(to));
  }
  return Status::Ok();
}

}  // namespace onceflow::engine::config
