// ConfigChecker::CheckSource: the [source] table.
#include <algorithm>

#include "config/config_checker.h"

namespace onceflow::config {

Status ConfigChecker::CheckSource(const toml::table& table, SourceConfig* source) const {
  static constexpr std::string_view kKeys[] = {"type",
                                               "topic",
                                               "starting_offsets",
                                               "format",
                                               "csv_columns",
                                               "csv_delimiter",
                                               "bootstrap",
                                               "group",
                                               "assign",
                                               "session_timeout_ms",
                                               "events",
                                               "partitions",
                                               "kind",
                                               "events_per_second",
                                               "base_time_ms",
                                               "out_of_order_group",
                                               "rate_shape",
                                               "next_events_per_second",
                                               "rate_period_s"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(table, "source", kKeys));
  Entry type = At(table, "source", "type");
  std::string type_name = "log";
  ONCEFLOW_RETURN_IF_ERROR(ReadString(type, &type_name));
  if (type_name != "log" && type_name != "kafka" && type_name != "nexmark") {
    return Error(type.key, "expected one of log, kafka, nexmark, got '" + type_name + "'");
  }
  if (type_name == "nexmark") return CheckNexmarkSource(table, source);
  for (std::string_view key :
       {"events", "partitions", "kind", "events_per_second", "base_time_ms", "out_of_order_group",
        "rate_shape", "next_events_per_second", "rate_period_s"}) {
    Entry e = At(table, "source", key);
    if (e.node != nullptr) return Error(e.key, "only used with type = \"nexmark\"");
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

Status ConfigChecker::CheckNexmarkSource(const toml::table& table, SourceConfig* source) const {
  for (std::string_view key : {"topic", "format", "csv_columns", "csv_delimiter", "bootstrap",
                               "group", "assign", "session_timeout_ms"}) {
    Entry e = At(table, "source", key);
    if (e.node != nullptr) return Error(e.key, "not used with type = \"nexmark\"");
  }
  NexmarkSourceOptions& o = source->options.emplace<NexmarkSourceOptions>();
  Entry events = At(table, "source", "events");
  ONCEFLOW_RETURN_IF_ERROR(Required(events));
  ONCEFLOW_RETURN_IF_ERROR(ReadInt(events, 1, int64_t{1} << 50, &o.events));
  int64_t partitions = o.partitions;
  ONCEFLOW_RETURN_IF_ERROR(ReadInt(At(table, "source", "partitions"), 1, 65536, &partitions));
  o.partitions = static_cast<int32_t>(partitions);
  static constexpr Choice<NexmarkKind> kKinds[] = {{"bid", NexmarkKind::kBid},
                                                   {"auction", NexmarkKind::kAuction},
                                                   {"person", NexmarkKind::kPerson},
                                                   {"all", NexmarkKind::kAll}};
  ONCEFLOW_RETURN_IF_ERROR(ReadChoice<NexmarkKind>(At(table, "source", "kind"), kKinds, &o.kind));
  ONCEFLOW_RETURN_IF_ERROR(ReadInt(At(table, "source", "events_per_second"), 1, 1'000'000'000'000,
                                   &o.events_per_second));
  ONCEFLOW_RETURN_IF_ERROR(
      ReadInt(At(table, "source", "base_time_ms"), 0, int64_t{1} << 50, &o.base_time_ms));
  Entry group = At(table, "source", "out_of_order_group");
  ONCEFLOW_RETURN_IF_ERROR(ReadInt(group, 1, 1'000'000'000, &o.out_of_order_group));
  if (o.out_of_order_group % 953 == 0) {
    return Error(group.key, "must not be a multiple of 953 (the permutation's stride), got " +
                                std::to_string(o.out_of_order_group));
  }
  static constexpr Choice<NexmarkRateShape> kShapes[] = {{"constant", NexmarkRateShape::kConstant},
                                                         {"square", NexmarkRateShape::kSquare},
                                                         {"sine", NexmarkRateShape::kSine}};
  ONCEFLOW_RETURN_IF_ERROR(
      ReadChoice<NexmarkRateShape>(At(table, "source", "rate_shape"), kShapes, &o.rate_shape));
  Entry next = At(table, "source", "next_events_per_second");
  Entry period = At(table, "source", "rate_period_s");
  if (o.rate_shape == NexmarkRateShape::kConstant) {
    for (const Entry& e : {next, period}) {
      if (e.node != nullptr) return Error(e.key, "only used with rate_shape = square or sine");
    }
  } else {
    ONCEFLOW_RETURN_IF_ERROR(Required(next));
    ONCEFLOW_RETURN_IF_ERROR(ReadInt(next, 1, 1'000'000'000, &o.next_events_per_second));
    ONCEFLOW_RETURN_IF_ERROR(ReadInt(period, 1, 1'000'000, &o.rate_period_s));
    if (o.events_per_second > 1'000'000'000) {
      return Error(At(table, "source", "events_per_second").key,
                   "must be at most 1000000000 with a rate_shape, got " +
                       std::to_string(o.events_per_second));
    }
  }
  static constexpr Choice<StartingOffsets> kOffsets[] = {{"earliest", StartingOffsets::kEarliest},
                                                         {"latest", StartingOffsets::kLatest}};
  return ReadChoice<StartingOffsets>(At(table, "source", "starting_offsets"), kOffsets,
                                     &o.records.starting_offsets);
}

}  // namespace onceflow::config
