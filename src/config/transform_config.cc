// ConfigChecker::CheckTransform: one [[transform]] table.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/aggregate_function.h"
#include "config/condition.h"
#include "config/config_checker.h"

namespace onceflow::config {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A duration: an integer of milliseconds, or a string "500ms", "10s", "5m", "1h", "1d".
Result<int64_t> ParseDurationMs(const toml::node& node) {
  if (const auto* i = node.as_integer()) return i->get();
  const auto* s = node.as_string();
  if (s == nullptr) {
    return Err(Status::InvalidArgument("expected milliseconds or a duration such as \"10s\", got " +
                                       Describe(node)));
  }
  std::string_view text = Trim(s->get());
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  if (ec == std::errc() && n >= 0) {
    for (const auto& [u, factor] : kUnits) {
      if (unit == u && n <= INT64_MAX / factor) return n * factor;
    }
  }
  return Err(Status::InvalidArgument("expected a duration such as \"500ms\", \"10s\", \"5m\", "
                                     "\"1h\" or \"1d\", got " +
                                     Describe(node)));
}

}  // namespace

Status ConfigChecker::CheckAggregate(const toml::table& table, const std::string& prefix,
                                     AggregateConfig* aggregate) const {
  using Window = AggregateConfig::Window;
  static constexpr std::string_view kKeys[] = {"type", "key", "aggregates", "window", "combine"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(table, prefix, kKeys));
  Entry key = At(table, prefix, "key");
  ONCEFLOW_RETURN_IF_ERROR(Required(key));
  ONCEFLOW_RETURN_IF_ERROR(ReadStringArray(key, /*unique=*/true, &aggregate->key));
  Entry aggregates = At(table, prefix, "aggregates");
  ONCEFLOW_RETURN_IF_ERROR(Required(aggregates));
  const toml::table* named = aggregates.node->as_table();
  if (named == nullptr) {
    return Error(aggregates.key,
                 "expected a table of name = \"count\" | \"sum(field)\" | ..., got " +
                     Describe(*aggregates.node));
  }
  if (named->empty()) return Error(aggregates.key, "must not be empty");
  std::vector<std::pair<const toml::key*, const toml::node*>> ordered;
  for (const auto& [k, node] : *named) ordered.emplace_back(&k, &node);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return Position(a.first->source()) < Position(b.first->source());
  });
  for (const auto& [k, node] : ordered) {
    const std::string name(k->str());
    const std::string full_key = aggregates.key + "." + name;
    // The name's own checks (not empty, not a key field) are the validator's, for the builder
    // too.
    std::string text;
    ONCEFLOW_RETURN_IF_ERROR(ReadString(Entry{node, full_key}, &text));
    Result<AggregateConfig::Aggregate> parsed = ParseAggregateFunction(text);
    if (!parsed.has_value()) {
      return Error(full_key, "cannot parse '" + text + "': " + parsed.error().message());
    }
    parsed->name = name;
    aggregate->aggregates.push_back(std::move(*parsed));
  }
  if (Entry combine = At(table, prefix, "combine"); combine.node != nullptr) {
    ONCEFLOW_RETURN_IF_ERROR(ReadBool(combine, &aggregate->combine));
  }
  Entry window = At(table, prefix, "window");
  if (window.node == nullptr) return Status::Ok();
  const toml::table* w = window.node->as_table();
  if (w == nullptr) return Error(window.key, "expected a table, got " + Describe(*window.node));
  static constexpr std::string_view kWindowKeys[] = {"type",
                                                     "size",
                                                     "slide",
                                                     "time_field",
                                                     "allowed_lateness",
                                                     "emit",
                                                     "idle_timeout",
                                                     "emit_open_windows_at_end"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(*w, window.key, kWindowKeys));
  aggregate->windowed = true;
  Window& out = aggregate->window;
  Entry wtype = At(*w, window.key, "type");
  ONCEFLOW_RETURN_IF_ERROR(Required(wtype));
  static constexpr Choice<Window::Type> kWindowTypes[] = {{"tumbling", Window::Type::kTumbling},
                                                          {"sliding", Window::Type::kSliding}};
  ONCEFLOW_RETURN_IF_ERROR(ReadChoice<Window::Type>(wtype, kWindowTypes, &out.type));
  auto read_duration = [&](std::string_view name, int64_t min, int64_t* dest) -> Status {
    Entry e = At(*w, window.key, name);
    if (e.node == nullptr) return Status::Ok();
    Result<int64_t> ms = ParseDurationMs(*e.node);
    if (!ms.has_value()) return Error(e.key, ms.error().message());
    if (*ms < min) return Error(e.key, "must be at least " + std::to_string(min) + " ms");
    *dest = *ms;
    return Status::Ok();
  };
  ONCEFLOW_RETURN_IF_ERROR(Required(At(*w, window.key, "size")));
  ONCEFLOW_RETURN_IF_ERROR(read_duration("size", 1, &out.size_ms));
  Entry slide = At(*w, window.key, "slide");
  if (out.type == Window::Type::kTumbling) {
    if (slide.node != nullptr) {
      return Error(slide.key, "only for a sliding window (a tumbling window slides by its size)");
    }
    out.slide_ms = out.size_ms;
  } else {
    ONCEFLOW_RETURN_IF_ERROR(Required(slide));
    ONCEFLOW_RETURN_IF_ERROR(read_duration("slide", 1, &out.slide_ms));
    if (out.slide_ms > out.size_ms) {
      return Error(slide.key, "must not exceed window.size (records between windows would be "
                              "counted in none)");
    }
    if (out.size_ms / out.slide_ms > 1000) {
      return Error(slide.key, "size / slide must be at most 1000 (windows per record)");
    }
  }
  Entry time_field = At(*w, window.key, "time_field");
  ONCEFLOW_RETURN_IF_ERROR(Required(time_field));
  ONCEFLOW_RETURN_IF_ERROR(ReadString(time_field, &out.time_field));
  if (out.time_field.empty()) return Error(time_field.key, "must not be empty");
  ONCEFLOW_RETURN_IF_ERROR(read_duration("allowed_lateness", 0, &out.allowed_lateness_ms));
  static constexpr Choice<Window::Emit> kEmits[] = {{"update", Window::Emit::kUpdate},
                                                    {"final", Window::Emit::kFinal}};
  ONCEFLOW_RETURN_IF_ERROR(ReadChoice<Window::Emit>(At(*w, window.key, "emit"), kEmits, &out.emit));
  ONCEFLOW_RETURN_IF_ERROR(read_duration("idle_timeout", 0, &out.idle_timeout_ms));
  Entry at_end = At(*w, window.key, "emit_open_windows_at_end");
  ONCEFLOW_RETURN_IF_ERROR(ReadBool(at_end, &out.emit_open_windows_at_end));
  if (out.emit_open_windows_at_end && out.emit != Window::Emit::kFinal) {
    return Error(at_end.key, "needs emit = \"final\" (with \"update\" every window is "
                             "emitted as it changes)");
  }
  return Status::Ok();
}

Status ConfigChecker::CheckTransform(const toml::table& table, const std::string& prefix,
                                     TransformConfig* transform) const {
  using Type = TransformConfig::Type;
  Entry type = At(table, prefix, "type");
  if (type.node == nullptr) {
    return Error(type.key, "required (one of select, rename, filter, compute, aggregate)");
  }
  static constexpr Choice<Type> kTypes[] = {{"select", Type::kSelect},
                                            {"rename", Type::kRename},
                                            {"filter", Type::kFilter},
                                            {"compute", Type::kCompute},
                                            {"aggregate", Type::kAggregate}};
  ONCEFLOW_RETURN_IF_ERROR(ReadChoice<Type>(type, kTypes, &transform->type));
  if (transform->type == Type::kAggregate) {
    return CheckAggregate(table, prefix, &transform->aggregate);
  }
  static constexpr Choice<bool> kOnMissing[] = {{"error", false}, {"null", true}};
  ONCEFLOW_RETURN_IF_ERROR(
      ReadChoice<bool>(At(table, prefix, "on_missing"), kOnMissing, &transform->missing_as_null));
  if (transform->type == Type::kFilter) {
    static constexpr std::string_view kKeys[] = {"type", "where", "on_missing"};
    ONCEFLOW_RETURN_IF_ERROR(CheckKeys(table, prefix, kKeys));
    Entry where = At(table, prefix, "where");
    ONCEFLOW_RETURN_IF_ERROR(Required(where));
    std::vector<std::string> conditions;
    ONCEFLOW_RETURN_IF_ERROR(ReadStringArray(where, /*unique=*/false, &conditions));
    for (size_t i = 0; i < conditions.size(); ++i) {
      Result<TransformConfig::Condition> condition = ParseWhere(conditions[i]);
      if (!condition.has_value()) {
        return Error(where.key + "[" + std::to_string(i) + "]",
                     "cannot parse '" + conditions[i] + "': " + condition.error().message());
      }
      transform->conditions.push_back(std::move(*condition));
    }
    return Status::Ok();
  }
  static constexpr std::string_view kKeys[] = {"type", "fields", "on_missing"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(table, prefix, kKeys));
  Entry fields = At(table, prefix, "fields");
  ONCEFLOW_RETURN_IF_ERROR(Required(fields));
  if (transform->type == Type::kSelect) {
    return ReadStringArray(fields, /*unique=*/true, &transform->fields);
  }
  const toml::table* renames = fields.node->as_table();
  if (renames == nullptr) {
    return Error(fields.key,
                 transform->type == Type::kCompute
                     ? "expected a table of name = \"expression\", got " + Describe(*fields.node)
                     : "expected a table of old = \"new\" names, got " + Describe(*fields.node));
  }
  if (renames->empty()) return Error(fields.key, "must not be empty");
  std::vector<std::pair<const toml::key*, const toml::node*>> ordered;
  for (const auto& [key, node] : *renames) ordered.emplace_back(&key, &node);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return Position(a.first->source()) < Position(b.first->source());
  });
  if (transform->type == Type::kCompute) {
    // The expressions are parsed and checked by the validator (for the builder's too), with
    // the same key in the message.
    for (const auto& [key, node] : ordered) {
      std::string name(key->str());
      std::string text;
      ONCEFLOW_RETURN_IF_ERROR(ReadString(Entry{node, fields.key + "." + name}, &text));
      transform->computed.emplace_back(std::move(name), std::move(text));
    }
    return Status::Ok();
  }
  for (const auto& [key, node] : ordered) {
    std::string from(key->str());
    std::string full_key = fields.key + "." + from;
    if (from.empty()) return Error(full_key, "the old name must not be empty");
    std::string to;
    ONCEFLOW_RETURN_IF_ERROR(ReadString(Entry{node, full_key}, &to));
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

}  // namespace onceflow::config
