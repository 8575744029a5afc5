// ConfigChecker::CheckSource: the [source] table.
#include "config/config_checker.h"

#include <algorithm>

namespace onceflow::config {

Status ConfigChecker::CheckSource(const toml::table& table, SourceConfig* source) const {
  static constexpr std::string_view kKeys[] = {"type",          "topic",     "starting_offsets",
                                               "format",        "csv_columns", "csv_delimiter",
                                               "bootstrap",     "group",
                                               "assign",        "session_timeout_ms"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(table, "source", kKeys));
  Entry type = At(table, "source", "type");
  ONCEFLOW_RETURN_IF_ERROR(ReadString(type, &source->type));
  if (source->type != "log" && source->type != "kafka") {
    return Error(type.key, "expected one of log, kafka, got '" + source->type + "'");
  }
  Entry bootstrap = At(table, "source", "bootstrap");
  Entry group = At(table, "source", "group");
  Entry assign = At(table, "source", "assign");
  Entry session = At(table, "source", "session_timeout_ms");
  if (source->type == "kafka") {
    ONCEFLOW_RETURN_IF_ERROR(Required(bootstrap));
    ONCEFLOW_RETURN_IF_ERROR(ReadStringWithEnv(bootstrap, &source->bootstrap));
    if (source->bootstrap.empty()) return Error(bootstrap.key, "must not be empty");
    ONCEFLOW_RETURN_IF_ERROR(ReadString(group, &source->group));
    if (group.node != nullptr && source->group.empty()) {
      return Error(group.key, "must not be empty");
    }
    static constexpr Choice<bool> kAssign[] = {{"all", false}, {"group", true}};
    ONCEFLOW_RETURN_IF_ERROR(ReadChoice<bool>(assign, kAssign, &source->assign_group));
    if (!source->assign_group && session.node != nullptr) {
      return Error(session.key, "only used with assign = \"group\"");
    }
    // The broker's defaults accept 6 s to 5 min (group.min/max.session.timeout.ms).
    ONCEFLOW_RETURN_IF_ERROR(ReadInt(session, 1000, 3'600'000, &source->session_timeout_ms));
  } else {
    for (const Entry* e : {&bootstrap, &group, &assign, &session}) {
      if (e->node != nullptr) return Error(e->key, "only used with type = \"kafka\"");
    }
  }
  Entry topic = At(table, "source", "topic");
  ONCEFLOW_RETURN_IF_ERROR(Required(topic));
  ONCEFLOW_RETURN_IF_ERROR(ReadString(topic, &source->topic));
  if (source->topic.empty() ||
      !std::all_of(source->topic.begin(), source->topic.end(), IsNameChar)) {
    return Error(topic.key,
                 "must be letters, digits, '.', '_' or '-', got '" + source->topic + "'");
  }
  static constexpr Choice<StartingOffsets> kOffsets[] = {{"earliest", StartingOffsets::kEarliest},
                                                         {"latest", StartingOffsets::kLatest}};
  ONCEFLOW_RETURN_IF_ERROR(ReadChoice<StartingOffsets>(At(table, "source", "starting_offsets"), kOffsets,
                                              &source->starting_offsets));
  static constexpr Choice<RecordFormat> kFormats[] = {
      {"json", RecordFormat::kJson}, {"csv", RecordFormat::kCsv}, {"raw", RecordFormat::kRaw}};
  ONCEFLOW_RETURN_IF_ERROR(
      ReadChoice<RecordFormat>(At(table, "source", "format"), kFormats, &source->format));
  Entry columns = At(table, "source", "csv_columns");
  Entry delimiter = At(table, "source", "csv_delimiter");
  if (source->format != RecordFormat::kCsv) {
    for (const Entry* e : {&columns, &delimiter}) {
      if (e->node != nullptr) return Error(e->key, "only used with format = \"csv\"");
    }
  }
  ONCEFLOW_RETURN_IF_ERROR(ReadStringArray(columns, /*unique=*/true, &source->csv_columns));
  ONCEFLOW_RETURN_IF_ERROR(ReadString(delimiter, &source->csv_delimiter));
  if (source->csv_delimiter.size() != 1 || source->csv_delimiter == "\"" ||
      source->csv_delimiter == "\n" || source->csv_delimiter == "\r") {
    return Error(delimiter.key, "must be one character other than a quote or a line break, got '" +
                                    source->csv_delimiter + "'");
  }
  return Status::Ok();
}

}  // namespace onceflow::config
