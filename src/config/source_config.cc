// ConfigChecker::CheckSource: the [source] table.
#include <algorithm>

#include "config/config_checker.h"

namespace onceflow::config {

Status ConfigChecker::CheckSource(const toml::table& table, SourceConfig* source) const {
  static constexpr std::string_view kKeys[] = {
      "type",  "topic",  "starting_offsets",  "format", "csv_columns", "csv_delimiter", "bootstrap",
      "group", "assign", "session_timeout_ms"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(table, "source", kKeys));
  Entry type = At(table, "source", "type");
  std::string type_name = "log";
  ONCEFLOW_RETURN_IF_ERROR(ReadString(type, &type_name));
  if (type_name != "log" && type_name != "kafka") {
    return Error(type.key, "expected one of log, kafka, got '" + type_name + "'");
  }
  Entry bootstrap = At(table, "source", "bootstrap");
  Entry group = At(table, "source", "group");
  Entry assign = At(table, "source", "assign");
  Entry session = At(table, "source", "session_timeout_ms");
  std::string* topic_out;
  RecordOptions* records;
  if (type_name == "kafka") {
    KafkaSourceOptions& kafka = source->options.emplace<KafkaSourceOptions>();
    ONCEFLOW_RETURN_IF_ERROR(Required(bootstrap));
    ONCEFLOW_RETURN_IF_ERROR(ReadStringWithEnv(bootstrap, &kafka.bootstrap));
    if (kafka.bootstrap.empty()) return Error(bootstrap.key, "must not be empty");
    ONCEFLOW_RETURN_IF_ERROR(ReadString(group, &kafka.group));
    if (group.node != nullptr && kafka.group.empty()) {
      return Error(group.key, "must not be empty");
    }
    static constexpr Choice<KafkaAssignment> kAssign[] = {{"all", KafkaAssignment::kAll},
                                                          {"group", KafkaAssignment::kGroup}};
    ONCEFLOW_RETURN_IF_ERROR(ReadChoice<KafkaAssignment>(assign, kAssign, &kafka.assign));
    if (kafka.assign != KafkaAssignment::kGroup && session.node != nullptr) {
      return Error(session.key, "only used with assign = \"group\"");
    }
    // The broker's defaults accept 6 s to 5 min (group.min/max.session.timeout.ms).
    int64_t session_ms = kafka.session_timeout.count();
    ONCEFLOW_RETURN_IF_ERROR(ReadInt(session, 1000, 3'600'000, &session_ms));
    kafka.session_timeout = std::chrono::milliseconds(session_ms);
    topic_out = &kafka.topic;
    records = &kafka.records;
  } else {
    for (const Entry* e : {&bootstrap, &group, &assign, &session}) {
      if (e->node != nullptr) return Error(e->key, "only used with type = \"kafka\"");
    }
    LogSourceOptions& log = source->options.emplace<LogSourceOptions>();
    topic_out = &log.topic;
    records = &log.records;
  }
  Entry topic = At(table, "source", "topic");
  ONCEFLOW_RETURN_IF_ERROR(Required(topic));
  ONCEFLOW_RETURN_IF_ERROR(ReadString(topic, topic_out));
  if (topic_out->empty() || !std::all_of(topic_out->begin(), topic_out->end(), IsNameChar)) {
    return Error(topic.key, "must be letters, digits, '.', '_' or '-', got '" + *topic_out + "'");
  }
  static constexpr Choice<StartingOffsets> kOffsets[] = {{"earliest", StartingOffsets::kEarliest},
                                                         {"latest", StartingOffsets::kLatest}};
  ONCEFLOW_RETURN_IF_ERROR(ReadChoice<StartingOffsets>(At(table, "source", "starting_offsets"),
                                                       kOffsets, &records->starting_offsets));
  static constexpr Choice<RecordFormat> kFormats[] = {
      {"json", RecordFormat::kJson}, {"csv", RecordFormat::kCsv}, {"raw", RecordFormat::kRaw}};
  ONCEFLOW_RETURN_IF_ERROR(
      ReadChoice<RecordFormat>(At(table, "source", "format"), kFormats, &records->format));
  Entry columns = At(table, "source", "csv_columns");
  Entry delimiter = At(table, "source", "csv_delimiter");
  if (records->format != RecordFormat::kCsv) {
    for (const Entry* e : {&columns, &delimiter}) {
      if (e->node != nullptr) return Error(e->key, "only used with format = \"csv\"");
    }
  }
  ONCEFLOW_RETURN_IF_ERROR(ReadStringArray(columns, /*unique=*/true, &records->csv_columns));
  ONCEFLOW_RETURN_IF_ERROR(ReadString(delimiter, &records->csv_delimiter));
  return Status::Ok();
}

}  // namespace onceflow::config
