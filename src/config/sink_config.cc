// ConfigChecker::CheckSink: the [sink] table.
#include <algorithm>

#include "config/config_checker.h"

namespace onceflow::config {

Status ConfigChecker::CheckSink(const toml::table& table, SinkConfig* sink) const {
  static constexpr std::string_view kKeys[] = {
      "type", "path",  "conninfo", "bootstrap",  "topic", "key_field", "init",
      "mode", "table", "key",      "statements", "add",   "append"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(table, "sink", kKeys));
  Entry type = At(table, "sink", "type");
  std::string type_name = "sqlite";
  ONCEFLOW_RETURN_IF_ERROR(ReadString(type, &type_name));
  if (type_name != "sqlite" && type_name != "postgres" && type_name != "kafka" &&
      type_name != "blackhole") {
    return Error(type.key,
                 "expected one of sqlite, postgres, kafka, blackhole, got '" + type_name + "'");
  }
  // Each key belongs to some sink types only.
  struct Owned {
    const char* key;
    bool used;
  };
  const bool sqlite = type_name == "sqlite";
  const bool postgres = type_name == "postgres";
  const bool kafka = type_name == "kafka";
  const bool sql = sqlite || postgres;
  const Owned owned[] = {{"path", sqlite},    {"conninfo", postgres}, {"bootstrap", kafka},
                         {"topic", kafka},    {"key_field", kafka},   {"init", sql},
                         {"mode", sql},       {"table", sql},         {"key", sql},
                         {"statements", sql}, {"add", sql},           {"append", sql}};
  for (const Owned& o : owned) {
    Entry e = At(table, "sink", o.key);
    if (e.node != nullptr && !o.used) {
      return Error(e.key, "not used with type = \"" + type_name + "\"");
    }
  }
  if (type_name == "blackhole") {
    sink->options.emplace<BlackholeSinkOptions>();
    return Status::Ok();
  }
  if (kafka) {
    KafkaSinkOptions& options = sink->options.emplace<KafkaSinkOptions>();
    Entry bootstrap = At(table, "sink", "bootstrap");
    ONCEFLOW_RETURN_IF_ERROR(Required(bootstrap));
    ONCEFLOW_RETURN_IF_ERROR(ReadStringWithEnv(bootstrap, &options.bootstrap));
    if (options.bootstrap.empty()) return Error(bootstrap.key, "must not be empty");
    Entry topic = At(table, "sink", "topic");
    ONCEFLOW_RETURN_IF_ERROR(Required(topic));
    ONCEFLOW_RETURN_IF_ERROR(ReadString(topic, &options.topic));
    return ReadString(At(table, "sink", "key_field"), &options.key_field);
  }
  if (postgres) {
    PostgresSinkOptions& options = sink->options.emplace<PostgresSinkOptions>();
    Entry conninfo = At(table, "sink", "conninfo");
    ONCEFLOW_RETURN_IF_ERROR(Required(conninfo));
    ONCEFLOW_RETURN_IF_ERROR(ReadStringWithEnv(conninfo, &options.conninfo));
    if (options.conninfo.empty()) return Error(conninfo.key, "must not be empty");
    return CheckSqlSink(table, &options);
  }
  SqliteSinkOptions& options = sink->options.emplace<SqliteSinkOptions>();
  Entry path = At(table, "sink", "path");
  ONCEFLOW_RETURN_IF_ERROR(Required(path));
  ONCEFLOW_RETURN_IF_ERROR(ReadString(path, &options.path));
  if (options.path.empty()) return Error(path.key, "must not be empty");
  options.path = ResolvePath(options.path);
  return CheckSqlSink(table, &options);
}

Status ConfigChecker::CheckSqlSink(const toml::table& table, std::vector<std::string>* init,
                                   SinkMode* mode, std::string* table_out,
                                   std::vector<std::string>* key_out,
                                   std::vector<std::string>* statements_out) const {
  Entry init_entry = At(table, "sink", "init");
  ONCEFLOW_RETURN_IF_ERROR(
      ReadStringArray(init_entry, /*unique=*/false, init, /*allow_empty=*/true));
  static constexpr Choice<SinkMode> kModes[] = {{"append", SinkMode::kAppend},
                                                {"upsert", SinkMode::kUpsert},
                                                {"statements", SinkMode::kStatements},
                                                {"additive", SinkMode::kAdditive}};
  ONCEFLOW_RETURN_IF_ERROR(ReadChoice<SinkMode>(At(table, "sink", "mode"), kModes, mode));
  Entry table_name = At(table, "sink", "table");
  Entry key = At(table, "sink", "key");
  Entry statements = At(table, "sink", "statements");
  if (*mode == SinkMode::kStatements || *mode == SinkMode::kAdditive) {
    if (table_name.node != nullptr) {
      return Error(table_name.key, "only used with mode = \"append\" or \"upsert\"");
    }
    if (*mode == SinkMode::kStatements) ONCEFLOW_RETURN_IF_ERROR(Required(statements));
    if (*mode == SinkMode::kAdditive && statements.node != nullptr) {
      return Error(statements.key, "only used with mode = \"statements\"");
    }
  } else {
    if (statements.node != nullptr)
      return Error(statements.key, "only used with mode = \"statements\"");
    ONCEFLOW_RETURN_IF_ERROR(Required(table_name));
  }
  if (*mode == SinkMode::kUpsert) {
    ONCEFLOW_RETURN_IF_ERROR(Required(key));
  } else if (key.node != nullptr) {
    return Error(key.key, "only used with mode = \"upsert\"");
  }
  ONCEFLOW_RETURN_IF_ERROR(ReadString(table_name, table_out));
  if (table_name.node != nullptr && table_out->empty())
    return Error(table_name.key, "must not be empty");
  ONCEFLOW_RETURN_IF_ERROR(ReadStringArray(key, /*unique=*/true, key_out));
  return ReadStringArray(statements, /*unique=*/false, statements_out);
}

}  // namespace onceflow::config
