// PipelineConfig parsing: a TOML file (toml++) checked key by key into a PipelineConfig. toml++
// reports syntax errors by throwing toml::parse_error; this file is the boundary where that
// exception becomes an invalid_argument Status.
#include "engine/pipeline_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <span>
#include <tuple>
#include <utility>

#include "engine/transforms.h"
#include "util/file.h"

namespace onceflow::engine {
namespace {

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

// A table entry: the node (nullptr when absent) and its full key for messages.
struct Entry {
  const toml::node* node;
  std::string key;
};

template <typename E>
struct Choice {
  std::string_view name;
  E value;
};

// Checks a TOML document against the schema. Every check stops at the first error, whose
// message is "<file>: <full key>: <what is wrong>".
class ConfigChecker {
 public:
  explicit ConfigChecker(std::string file) : file_(std::move(file)) {}

  Result<PipelineConfig> Check(const toml::table& root);

 private:
  Status Error(std::string_view key, std::string_view message) const {
    std::string msg = file_.empty() ? "pipeline config" : file_;
    msg += ": ";
    msg += key;
    msg += ": ";
    msg += message;
    return Status::InvalidArgument(std::move(msg));
  }

  static Entry At(const toml::table& table, std::string_view prefix, std::string_view name) {
    std::string key =
        prefix.empty() ? std::string(name) : std::string(prefix) + "." + std::string(name);
    return Entry{table.get(name), std::move(key)};
  }

  Status Required(const Entry& e) const {
    return e.node == nullptr ? Error(e.key, "required") : Status::Ok();
  }

  // Refuses any key of `table` not in `known`, naming the first such key in file order.
  Status CheckKeys(const toml::table& table, std::string_view prefix,
                   std::span<const std::string_view> known) const;

  // The readers below leave *out unchanged when the entry is absent.
  Status ReadString(const Entry& e, std::string* out) const;
  Status ReadInt(const Entry& e, int64_t min, int64_t max, int64_t* out) const;
  Status ReadBool(const Entry& e, bool* out) const;
  Status ReadDouble(const Entry& e, double greater_than, double* out) const;
  // An array of non-empty strings, none repeated when `unique`, empty only when `allow_empty`.
  Status ReadStringArray(const Entry& e, bool unique, std::vector<std::string>* out,
                         bool allow_empty = false) const;
  template <typename E>
  Status ReadChoice(const Entry& e, std::span<const Choice<E>> choices, E* out) const;

  Status CheckSource(const toml::table& table, SourceConfig* source) const;
  Status CheckTransform(const toml::table& table, const std::string& prefix,
                        TransformConfig* transform) const;
  Status CheckSink(const toml::table& table, SinkConfig* sink) const;
  // Resolves a relative path against the directory of the config file.
  std::string ResolvePath(const std::string& path) const;

  std::string file_;
};

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

template <typename E>
Status ConfigChecker::ReadChoice(const Entry& e, std::span<const Choice<E>> choices, E* out) const {
  if (e.node == nullptr) return Status::Ok();
  std::string expected = "expected one of ";
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) expected += ", ";
    expected += choices[i].name;
  }
  if (e.node->is_string()) {
    for (const Choice<E>& choice : choices) {
      if (e.node->as_string()->get() == choice.name) {
        *out = choice.value;
        return Status::Ok();
      }
    }
  }
  return Error(e.key, expected + ", got " + Describe(*e.node));
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

Status ConfigChecker::CheckSource(const toml::table& table, SourceConfig* source) const {
  static constexpr std::string_view kKeys[] = {"type",   "topic",       "starting_offsets",
                                               "format", "csv_columns", "csv_delimiter"};
  RETURN_IF_ERROR(CheckKeys(table, "source", kKeys));
  Entry type = At(table, "source", "type");
  RETURN_IF_ERROR(ReadString(type, &source->type));
  if (source->type == "kafka") {
    return Error(type.key, "'kafka' is not supported yet; the only source type is 'log'");
  }
  if (source->type != "log") {
    return Error(type.key, "expected one of log, got '" + source->type + "'");
  }
  Entry topic = At(table, "source", "topic");
  RETURN_IF_ERROR(Required(topic));
  RETURN_IF_ERROR(ReadString(topic, &source->topic));
  if (source->topic.empty() ||
      !std::all_of(source->topic.begin(), source->topic.end(), IsNameChar)) {
    return Error(topic.key,
                 "must be letters, digits, '.', '_' or '-', got '" + source->topic + "'");
  }
  static constexpr Choice<StartingOffsets> kOffsets[] = {{"earliest", StartingOffsets::kEarliest},
                                                         {"latest", StartingOffsets::kLatest}};
  RETURN_IF_ERROR(ReadChoice<StartingOffsets>(At(table, "source", "starting_offsets"), kOffsets,
                                              &source->starting_offsets));
  static constexpr Choice<RecordFormat> kFormats[] = {
      {"json", RecordFormat::kJson}, {"csv", RecordFormat::kCsv}, {"raw", RecordFormat::kRaw}};
  RETURN_IF_ERROR(
      ReadChoice<RecordFormat>(At(table, "source", "format"), kFormats, &source->format));
  Entry columns = At(table, "source", "csv_columns");
  Entry delimiter = At(table, "source", "csv_delimiter");
  if (source->format != RecordFormat::kCsv) {
    for (const Entry* e : {&columns, &delimiter}) {
      if (e->node != nullptr) return Error(e->key, "only used with format = \"csv\"");
    }
  }
  RETURN_IF_ERROR(ReadStringArray(columns, /*unique=*/true, &source->csv_columns));
  RETURN_IF_ERROR(ReadString(delimiter, &source->csv_delimiter));
  if (source->csv_delimiter.size() != 1 || source->csv_delimiter == "\"" ||
      source->csv_delimiter == "\n" || source->csv_delimiter == "\r") {
    return Error(delimiter.key, "must be one character other than a quote or a line break, got '" +
                                    source->csv_delimiter + "'");
  }
  return Status::Ok();
}

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

Status ConfigChecker::CheckSink(const toml::table& table, SinkConfig* sink) const {
  static constexpr std::string_view kKeys[] = {"type",  "path", "init",      "mode",
                                               "table", "key",  "statements"};
  RETURN_IF_ERROR(CheckKeys(table, "sink", kKeys));
  Entry type = At(table, "sink", "type");
  RETURN_IF_ERROR(ReadString(type, &sink->type));
  if (sink->type == "postgres" || sink->type == "kafka") {
    return Error(type.key,
                 "'" + sink->type + "' is not supported yet; the only sink type is 'sqlite'");
  }
  if (sink->type != "sqlite")
    return Error(type.key, "expected one of sqlite, got '" + sink->type + "'");
  Entry path = At(table, "sink", "path");
  RETURN_IF_ERROR(Required(path));
  RETURN_IF_ERROR(ReadString(path, &sink->path));
  if (sink->path.empty()) return Error(path.key, "must not be empty");
  sink->path = ResolvePath(sink->path);
  Entry init = At(table, "sink", "init");
  RETURN_IF_ERROR(ReadStringArray(init, /*unique=*/false, &sink->init, /*allow_empty=*/true));
  static constexpr Choice<SinkMode> kModes[] = {{"append", SinkMode::kAppend},
                                                {"upsert", SinkMode::kUpsert},
                                                {"statements", SinkMode::kStatements}};
  RETURN_IF_ERROR(ReadChoice<SinkMode>(At(table, "sink", "mode"), kModes, &sink->mode));
  Entry table_name = At(table, "sink", "table");
  Entry key = At(table, "sink", "key");
  Entry statements = At(table, "sink", "statements");
  if (sink->mode == SinkMode::kStatements) {
    if (table_name.node != nullptr) {
      return Error(table_name.key, "only used with mode = \"append\" or \"upsert\"");
    }
    RETURN_IF_ERROR(Required(statements));
  } else {
    if (statements.node != nullptr)
      return Error(statements.key, "only used with mode = \"statements\"");
    RETURN_IF_ERROR(Required(table_name));
  }
  if (sink->mode == SinkMode::kUpsert) {
    RETURN_IF_ERROR(Required(key));
  } else if (key.node != nullptr) {
    return Error(key.key, "only used with mode = \"upsert\"");
  }
  RETURN_IF_ERROR(ReadString(table_name, &sink->table));
  if (table_name.node != nullptr && sink->table.empty())
    return Error(table_name.key, "must not be empty");
  RETURN_IF_ERROR(ReadStringArray(key, /*unique=*/true, &sink->key));
  return ReadStringArray(statements, /*unique=*/false, &sink->statements);
}

Result<PipelineConfig> ConfigChecker::Check(const toml::table& root) {
  static constexpr std::string_view kKeys[] = {"name",
                                               "batch_interval_ms",
                                               "max_records_per_partition",
                                               "max_task_failures",
                                               "max_batch_failures",
                                               "speculation",
                                               "speculation_multiplier",
                                               "speculation_min_ms",
                                               "executor_threads",
                                               "source",
                                               "transform",
                                               "sink"};
  RETURN_IF_ERROR(CheckKeys(root, "", kKeys));
  PipelineConfig config;
  config.file = file_;
  Entry name = At(root, "", "name");
  RETURN_IF_ERROR(Required(name));
  RETURN_IF_ERROR(ReadString(name, &config.name));
  if (config.name.empty() || !std::all_of(config.name.begin(), config.name.end(), IsNameChar) ||
      config.name == "." || config.name == "..") {
    return Err(
        Error(name.key, "must be letters, digits, '.', '_' or '-', got '" + config.name + "'"));
  }
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  int64_t max_task_failures = config.max_task_failures;
  int64_t max_batch_failures = config.max_batch_failures;
  int64_t executor_threads = config.executor_threads;
  RETURN_IF_ERROR(
      ReadInt(At(root, "", "batch_interval_ms"), 1, 3600000, &config.batch_interval_ms));
  RETURN_IF_ERROR(ReadInt(At(root, "", "max_records_per_partition"), 1,
                          std::numeric_limits<int64_t>::max(), &config.max_records_per_partition));
  RETURN_IF_ERROR(ReadInt(At(root, "", "max_task_failures"), 1, kInt32Max, &max_task_failures));
  RETURN_IF_ERROR(ReadInt(At(root, "", "max_batch_failures"), 1, kInt32Max, &max_batch_failures));
  RETURN_IF_ERROR(ReadBool(At(root, "", "speculation"), &config.speculation));
  RETURN_IF_ERROR(
      ReadDouble(At(root, "", "speculation_multiplier"), 1.0, &config.speculation_multiplier));
  RETURN_IF_ERROR(
      ReadInt(At(root, "", "speculation_min_ms"), 0, 86400000, &config.speculation_min_ms));
  RETURN_IF_ERROR(ReadInt(At(root, "", "executor_threads"), 0, 1024, &executor_threads));
  config.max_task_failures = static_cast<int32_t>(max_task_failures);
  config.max_batch_failures = static_cast<int32_t>(max_batch_failures);
  config.executor_threads = static_cast<int32_t>(executor_threads);

  Entry source = At(root, "", "source");
  if (source.node == nullptr) return Err(Error(source.key, "required (a [source] table)"));
  if (!source.node->is_table()) {
    return Err(Error(source.key, "expected a table ([source]), got " + Describe(*source.node)));
  }
  RETURN_IF_ERROR(CheckSource(*source.node->as_table(), &config.source));

  Entry transforms = At(root, "", "transform");
  if (transforms.node != nullptr) {
    const toml::array* array = transforms.node->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
      return Err(Error(transforms.key, "expected an array of tables ([[transform]]), got " +
                                           Describe(*transforms.node)));
    }
    for (size_t i = 0; i < array->size(); ++i) {
      TransformConfig transform;
      RETURN_IF_ERROR(CheckTransform(*(*array)[i].as_table(),
                                     transforms.key + "[" + std::to_string(i) + "]", &transform));
      config.transforms.push_back(std::move(transform));
    }
  }

  Entry sink = At(root, "", "sink");
  if (sink.node == nullptr) return Err(Error(sink.key, "required (a [sink] table)"));
  if (!sink.node->is_table()) {
    return Err(Error(sink.key, "expected a table ([sink]), got " + Describe(*sink.node)));
  }
  RETURN_IF_ERROR(CheckSink(*sink.node->as_table(), &config.sink));
  return config;
}

}  // namespace

Result<PipelineConfig> LoadPipelineConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParsePipelineConfig(text, path);
}

Result<PipelineConfig> ParsePipelineConfig(std::string_view toml, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(toml, path);
  } catch (const toml::parse_error& e) {
    const toml::source_position& at = e.source().begin;
    return Err(Status::InvalidArgument((path.empty() ? "pipeline config" : path) + ":" +
                                       std::to_string(at.line) + ":" + std::to_string(at.column) +
                                       ": " + std::string(e.description())));
  }
  return ConfigChecker(path).Check(root);
}

}  // namespace onceflow::engine
