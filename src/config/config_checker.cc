// The typed readers of ConfigChecker: each names the full key in its error.
#include "config/config_checker.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>

namespace onceflow::config {

// The position of a node in its file, for keeping a table's keys in file order (toml::table
// is a sorted map).
std::tuple<uint32_t, uint32_t> Position(const toml::source_region& region) {
  return {region.begin.line, region.begin.column};
}

// What a node is, for "got ..." in messages: a string is quoted, anything else is named.
std::string Describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "'" + node.as_string()->get() + "'";
    case toml::node_type::integer:
      return "an integer (" + std::to_string(node.as_integer()->get()) + ")";
    case toml::node_type::floating_point: {
      char buf[40];
      std::snprintf(buf, sizeof(buf), "a float (%g)", node.as_floating_point()->get());
      return buf;
    }
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "a boolean (true)" : "a boolean (false)";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

// The Levenshtein distance of two short strings, to suggest the key a typo meant.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

Status ConfigChecker::CheckKeys(const toml::table& table, std::string_view prefix,
                                std::span<const std::string_view> known) const {
  const toml::key* unknown = nullptr;
  for (const auto& [key, node] : table) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    if (unknown == nullptr || Position(key.source()) < Position(unknown->source())) unknown = &key;
  }
  if (unknown == nullptr) return Status::Ok();
  std::string name(unknown->str());
  std::string message = "unknown key";
  std::string_view closest;
  size_t best = 3;  // Suggest only a key at most two edits away.
  for (std::string_view k : known) {
    size_t d = EditDistance(name, k);
    if (d < best) {
      best = d;
      closest = k;
    }
  }
  if (!closest.empty()) {
    message += " (did you mean '" + std::string(closest) + "'?)";
  } else {
    message += " (known keys: ";
    for (size_t i = 0; i < known.size(); ++i) {
      if (i > 0) message += ", ";
      message += known[i];
    }
    message += ")";
  }
  return Error(prefix.empty() ? name : std::string(prefix) + "." + name, message);
}

Status ConfigChecker::ReadString(const Entry& e, std::string* out) const {
  if (e.node == nullptr) return Status::Ok();
  if (!e.node->is_string()) return Error(e.key, "expected a string, got " + Describe(*e.node));
  *out = e.node->as_string()->get();
  return Status::Ok();
}

Status ConfigChecker::ReadInt(const Entry& e, int64_t min, int64_t max, int64_t* out) const {
  if (e.node == nullptr) return Status::Ok();
  std::string expected =
      max == std::numeric_limits<int64_t>::max()
          ? "must be an integer of at least " + std::to_string(min)
          : "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!e.node->is_integer()) return Error(e.key, expected + ", got " + Describe(*e.node));
  int64_t v = e.node->as_integer()->get();
  if (v < min || v > max) return Error(e.key, expected + ", got " + std::to_string(v));
  *out = v;
  return Status::Ok();
}

Status ConfigChecker::ReadBool(const Entry& e, bool* out) const {
  if (e.node == nullptr) return Status::Ok();
  if (!e.node->is_boolean()) {
    return Error(e.key, "expected a boolean (true or false), got " + Describe(*e.node));
  }
  *out = e.node->as_boolean()->get();
  return Status::Ok();
}

Status ConfigChecker::ReadDouble(const Entry& e, double greater_than, double* out) const {
  if (e.node == nullptr) return Status::Ok();
  char expected[64];
  std::snprintf(expected, sizeof(expected), "must be a number greater than %g", greater_than);
  double v = 0;
  if (e.node->is_floating_point()) {
    v = e.node->as_floating_point()->get();
  } else if (e.node->is_integer()) {
    v = static_cast<double>(e.node->as_integer()->get());
  } else {
    return Error(e.key, std::string(expected) + ", got " + Describe(*e.node));
  }
  if (!std::isfinite(v) || v <= greater_than) {
    return Error(e.key, std::string(expected) + ", got " + Describe(*e.node));
  }
  *out = v;
  return Status::Ok();
}

Status ConfigChecker::ReadStringArray(const Entry& e, bool unique, std::vector<std::string>* out,
                                      bool allow_empty) const {
  if (e.node == nullptr) return Status::Ok();
  const toml::array* array = e.node->as_array();
  if (array == nullptr) {
    return Error(e.key, "expected an array of strings, got " + Describe(*e.node));
  }
  if (array->empty() && !allow_empty) return Error(e.key, "must not be empty");
  std::vector<std::string> values;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = (*array)[i];
    std::string key = e.key + "[" + std::to_string(i) + "]";
    if (!element.is_string()) return Error(key, "expected a string, got " + Describe(element));
    const std::string& s = element.as_string()->get();
    if (s.empty()) return Error(key, "must not be empty");
    if (unique && std::find(values.begin(), values.end(), s) != values.end()) {
      return Error(key, "'" + s + "' is listed twice");
    }
    values.push_back(s);
  }
  *out = std::move(values);
  return Status::Ok();
}

std::string ConfigChecker::ResolvePath(const std::string& path) const {
  if (path == ":memory:") return path;  // SQLite's in-memory database, not a file.
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(file_).parent_path() / p;
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(p, ec);
  if (!ec) p = std::move(absolute);
  return p.lexically_normal().string();
}

Status ConfigChecker::ReadStringWithEnv(const Entry& e, std::string* out) const {
  std::string raw;
  ONCEFLOW_RETURN_IF_ERROR(ReadString(e, &raw));
  if (e.node == nullptr) return Status::Ok();
  std::string value;
  size_t i = 0;
  while (i < raw.size()) {
    size_t start = raw.find("${", i);
    if (start == std::string::npos) {
      value.append(raw, i);
      break;
    }
    value.append(raw, i, start - i);
    size_t end = raw.find('}', start + 2);
    if (end == std::string::npos) return Error(e.key, "'${' without a closing '}'");
    std::string name = raw.substr(start + 2, end - start - 2);
    if (name.empty()) return Error(e.key, "'${}' names no environment variable");
    const char* env = std::getenv(name.c_str());
    if (env == nullptr) {
      return Error(e.key, "names the environment variable " + name + ", which is not set");
    }
    value += env;
    i = end + 1;
  }
  *out = std::move(value);
  return Status::Ok();
}

}  // namespace onceflow::config
