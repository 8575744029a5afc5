// ConfigChecker::CheckSink: the [sink] table.
#include "config/config_checker.h"

#include <algorithm>

namespace onceflow::config {

Status ConfigChecker::CheckSink(const toml::table& table, SinkConfig* sink) const {
  static constexpr std::string_view kKeys[] = {
      "type", "path", "conninfo", "bootstrap", "topic", "key_field", "init", "mode", "table",
      "key",  "statements"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(table, "sink", kKeys));
  Entry type = At(table, "sink", "type");
  ONCEFLOW_RETURN_IF_ERROR(ReadString(type, &sink->type));
  if (sink->type != "sqlite" && sink->type != "postgres" && sink->type != "kafka") {
    return Error(type.key, "expected one of sqlite, postgres, kafka, got '" + sink->type + "'");
  }
  // Each key belongs to some sink types only.
  struct Owned {
    const char* key;
    bool used;
  };
  const bool sqlite = sink->type == "sqlite";
  const bool postgres = sink->type == "postgres";
  const bool kafka = sink->type == "kafka";
  const Owned owned[] = {{"path", sqlite},       {"conninfo", postgres}, {"bootstrap", kafka},
                         {"topic", kafka},       {"key_field", kafka},   {"init", !kafka},
                         {"mode", !kafka},       {"table", !kafka},      {"key", !kafka},
                         {"statements", !kafka}};
  for (const Owned& o : owned) {
    Entry e = At(table, "sink", o.key);
    if (e.node != nullptr && !o.used) {
      return Error(e.key, "not used with type = \"" + sink->type + "\"");
    }
  }
  if (kafka) {
    Entry bootstrap = At(table, "sink", "bootstrap");
    ONCEFLOW_RETURN_IF_ERROR(Required(bootstrap));
    ONCEFLOW_RETURN_IF_ERROR(ReadStringWithEnv(bootstrap, &sink->bootstrap));
    if (sink->bootstrap.empty()) return Error(bootstrap.key, "must not be empty");
    Entry topic = At(table, "sink", "topic");
    ONCEFLOW_RETURN_IF_ERROR(Required(topic));
    ONCEFLOW_RETURN_IF_ERROR(ReadString(topic, &sink->topic));
    if (sink->topic.empty() || !std::all_of(sink->topic.begin(), sink->topic.end(), IsNameChar)) {
      return Error(topic.key, "must be letters, digits, '.', '_' or '-', got '" + sink->topic + "'");
    }
    return ReadString(At(table, "sink", "key_field"), &sink->key_field);
  }
  if (postgres) {
    Entry conninfo = At(table, "sink", "conninfo");
    ONCEFLOW_RETURN_IF_ERROR(Required(conninfo));
    ONCEFLOW_RETURN_IF_ERROR(ReadStringWithEnv(conninfo, &sink->conninfo));
    if (sink->conninfo.empty()) return Error(conninfo.key, "must not be empty");
  } else {
    Entry path = At(table, "sink", "path");
    ONCEFLOW_RETURN_IF_ERROR(Required(path));
    ONCEFLOW_RETURN_IF_ERROR(ReadString(path, &sink->path));
    if (sink->path.empty()) return Error(path.key, "must not be empty");
    sink->path = ResolvePath(sink->path);
  }
  Entry init = At(table, "sink", "init");
  ONCEFLOW_RETURN_IF_ERROR(ReadStringArray(init, /*unique=*/false, &sink->init, /*allow_empty=*/true));
  static constexpr Choice<SinkMode> kModes[] = {{"append", SinkMode::kAppend},
                                                {"upsert", SinkMode::kUpsert},
                                                {"statements", SinkMode::kStatements}};
  ONCEFLOW_RETURN_IF_ERROR(ReadChoice<SinkMode>(At(table, "sink", "mode"), kModes, &sink->mode));
  Entry table_name = At(table, "sink", "table");
  Entry key = At(table, "sink", "key");
  Entry statements = At(table, "sink", "statements");
  if (sink->mode == SinkMode::kStatements) {
    if (table_name.node != nullptr) {
      return Error(table_name.key, "only used with mode = \"append\" or \"upsert\"");
    }
    ONCEFLOW_RETURN_IF_ERROR(Required(statements));
  } else {
    if (statements.node != nullptr)
      return Error(statements.key, "only used with mode = \"statements\"");
    ONCEFLOW_RETURN_IF_ERROR(Required(table_name));
  }
  if (sink->mode == SinkMode::kUpsert) {
    ONCEFLOW_RETURN_IF_ERROR(Required(key));
  } else if (key.node != nullptr) {
    return Error(key.key, "only used with mode = \"upsert\"");
  }
  ONCEFLOW_RETURN_IF_ERROR(ReadString(table_name, &sink->table));
  if (table_name.node != nullptr && sink->table.empty())
    return Error(table_name.key, "must not be empty");
  ONCEFLOW_RETURN_IF_ERROR(ReadStringArray(key, /*unique=*/true, &sink->key));
  return ReadStringArray(statements, /*unique=*/false, &sink->statements);
}

}  // namespace onceflow::config
