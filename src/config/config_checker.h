// ConfigChecker: checks a pipeline's TOML document key by key into a PipelineConfig. One file
// per part of the schema: config_checker.cc (the typed readers), source_config.cc,
// transform_config.cc, sink_config.cc and pipeline_config.cc (the top level). Internal to the
// engine.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/one_line.h"
#include "config/pipeline_config.h"
#include "onceflow/status.h"

namespace onceflow::config {

// The position of a node in its file, for keeping a table's keys in file order (toml::table
// is a sorted map).
std::tuple<uint32_t, uint32_t> Position(const toml::source_region& region);

// What a node is, for "got ..." in messages: a string is quoted, anything else is named.
std::string Describe(const toml::node& node);

// The Levenshtein distance of two short strings, to suggest the key a typo meant.
size_t EditDistance(std::string_view a, std::string_view b);

// Letters, digits, '.', '_' and '-': the characters of pipeline and topic names.
bool IsNameChar(char c);

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
  // One line even where the key or the message quotes the user's text (OneLine).
  Status Error(std::string_view key, std::string_view message) const {
    std::string msg = file_.empty() ? "pipeline config" : file_;
    msg += ": ";
    msg += OneLine(key);
    msg += ": ";
    msg += OneLine(message);
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
  Status CheckNexmarkSource(const toml::table& table, SourceConfig* source) const;
  Status CheckTransform(const toml::table& table, const std::string& prefix,
                        TransformConfig* transform) const;
  Status CheckAggregate(const toml::table& table, const std::string& prefix,
                        AggregateConfig* aggregate) const;
  Status CheckSink(const toml::table& table, SinkConfig* sink) const;
  // The keys shared by the SQL sinks (SQLite, PostgreSQL): init, mode, table, key, statements,
  // add, append.
  template <typename Options>
  Status CheckSqlSink(const toml::table& table, Options* options) const {
    ONCEFLOW_RETURN_IF_ERROR(CheckSqlSink(table, &options->init, &options->mode, &options->table,
                                          &options->key, &options->statements));
    return CheckAdditive(table, options->mode, &options->add, &options->append);
  }
  Status CheckSqlSink(const toml::table& table, std::vector<std::string>* init, SinkMode* mode,
                      std::string* table_out, std::vector<std::string>* key_out,
                      std::vector<std::string>* statements_out) const;
  // Additive mode's [[sink.add]] and [sink.append] (sink_additive_config.cc).
  Status CheckAdditive(const toml::table& table, SinkMode mode, std::vector<AddTo>* add,
                       AppendTo* append) const;
  // An inline table of column = "field" pairs, in file order, none empty.
  Status ReadColumnFields(const Entry& e, std::vector<ColumnField>* out) const;
  // Resolves a relative path against the directory of the config file.
  std::string ResolvePath(const std::string& path) const;
  // A string that may name environment variables as ${NAME} (for secrets such as a password
  // in a connection string): each is replaced by the variable's value. An unset variable is an
  // error naming the key and the variable, never the value.
  Status ReadStringWithEnv(const Entry& e, std::string* out) const;

  std::string file_;
};

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

}  // namespace onceflow::config
