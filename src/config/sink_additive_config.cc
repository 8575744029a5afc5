// ConfigChecker::CheckAdditive: additive mode's [[sink.add]] entries and [sink.append] table.
#include <algorithm>

#include "config/config_checker.h"

namespace onceflow::config {

Status ConfigChecker::ReadColumnFields(const Entry& e, std::vector<ColumnField>* out) const {
  if (e.node == nullptr) return Status::Ok();
  const toml::table* pairs = e.node->as_table();
  if (pairs == nullptr) {
    return Error(e.key, "expected a table of column = \"field\", got " + Describe(*e.node));
  }
  if (pairs->empty()) return Error(e.key, "must not be empty");
  std::vector<std::pair<const toml::key*, const toml::node*>> ordered;
  for (const auto& [k, node] : *pairs) ordered.emplace_back(&k, &node);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return Position(a.first->source()) < Position(b.first->source());
  });
  for (const auto& [k, node] : ordered) {
    ColumnField pair;
    pair.column = std::string(k->str());
    const Entry field{node, e.key + "." + pair.column};
    if (!node->is_string()) {
      return Error(field.key, "expected the name of a field, got " + Describe(*node));
    }
    ONCEFLOW_RETURN_IF_ERROR(ReadString(field, &pair.field));
    if (pair.field.empty() || pair.field == "-") return Error(field.key, "names no field");
    out->push_back(std::move(pair));
  }
  return Status::Ok();
}

Status ConfigChecker::CheckAdditive(const toml::table& table, SinkMode mode,
                                    std::vector<AddTo>* add, AppendTo* append) const {
  Entry add_entry = At(table, "sink", "add");
  Entry append_entry = At(table, "sink", "append");
  if (mode != SinkMode::kAdditive) {
    for (const Entry* e : {&add_entry, &append_entry}) {
      if (e->node != nullptr) return Error(e->key, "only used with mode = \"additive\"");
    }
    return Status::Ok();
  }
  ONCEFLOW_RETURN_IF_ERROR(Required(add_entry));
  const toml::array* entries = add_entry.node->as_array();
  if (entries == nullptr) {
    return Error(add_entry.key, "expected [[sink.add]] tables (table, key, add), got " +
                                    Describe(*add_entry.node));
  }
  if (entries->empty()) return Error(add_entry.key, "must not be empty");
  static constexpr std::string_view kAddKeys[] = {"table", "key", "add"};
  for (size_t i = 0; i < entries->size(); ++i) {
    const std::string prefix = "sink.add[" + std::to_string(i) + "]";
    const toml::table* entry = (*entries)[i].as_table();
    if (entry == nullptr) {
      return Error(prefix, "expected a table (table, key, add), got " + Describe((*entries)[i]));
    }
    ONCEFLOW_RETURN_IF_ERROR(CheckKeys(*entry, prefix, kAddKeys));
    AddTo to;
    for (std::string_view name : kAddKeys)
      ONCEFLOW_RETURN_IF_ERROR(Required(At(*entry, prefix, name)));
    ONCEFLOW_RETURN_IF_ERROR(ReadString(At(*entry, prefix, "table"), &to.table));
    ONCEFLOW_RETURN_IF_ERROR(ReadColumnFields(At(*entry, prefix, "key"), &to.key));
    ONCEFLOW_RETURN_IF_ERROR(ReadColumnFields(At(*entry, prefix, "add"), &to.add));
    add->push_back(std::move(to));
  }
  if (append_entry.node == nullptr) return Status::Ok();
  const toml::table* a = append_entry.node->as_table();
  if (a == nullptr) {
    return Error(append_entry.key,
                 "expected a table (table, columns), got " + Describe(*append_entry.node));
  }
  static constexpr std::string_view kAppendKeys[] = {"table", "columns"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(*a, "sink.append", kAppendKeys));
  for (std::string_view name : kAppendKeys) {
    ONCEFLOW_RETURN_IF_ERROR(Required(At(*a, "sink.append", name)));
  }
  ONCEFLOW_RETURN_IF_ERROR(ReadString(At(*a, "sink.append", "table"), &append->table));
  return ReadColumnFields(At(*a, "sink.append", "columns"), &append->columns);
}

}  // namespace onceflow::config
