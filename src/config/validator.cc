// Validate: the checks of a PipelineConfig shared by the TOML reader and PipelineBuilder.
#include "config/validator.h"

#include <algorithm>
#include <limits>
#include <string>
#include <string_view>

#include "config/condition.h"
#include "config/field_check.h"
#include "config/one_line.h"
#include "expr/expression.h"

namespace onceflow::config {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool IsName(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsNameChar) && s != "." && s != "..";
}

class Validator {
 public:
  Validator(const PipelineConfig& config, const CodeOperators& code) : c_(config), code_(code) {}

  Status Run() {
    ONCEFLOW_RETURN_IF_ERROR(CheckTop());
    ONCEFLOW_RETURN_IF_ERROR(CheckSource());
    ONCEFLOW_RETURN_IF_ERROR(CheckTransforms());
    ONCEFLOW_RETURN_IF_ERROR(CheckSink());
    return CheckCombinations();
  }

 private:
  // One line even where the key or the message quotes the user's text (OneLine).
  Status Error(std::string_view key, std::string_view message) const {
    std::string msg = c_.file.empty() ? "pipeline config" : c_.file;
    msg += ": ";
    msg += OneLine(key);
    msg += ": ";
    msg += OneLine(message);
    return Status::InvalidArgument(std::move(msg));
  }

  Status Range(std::string_view key, int64_t v, int64_t min, int64_t max) const {
    if (v >= min && v <= max) return Status::Ok();
    std::string expected =
        max == std::numeric_limits<int64_t>::max()
            ? "must be an integer of at least " + std::to_string(min)
            : "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    return Error(key, expected + ", got " + std::to_string(v));
  }

  Status CheckTop() const {
    if (!IsName(c_.name)) {
      return Error("name", "must be letters, digits, '.', '_' or '-', got '" + c_.name + "'");
    }
    constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
    ONCEFLOW_RETURN_IF_ERROR(Range("batch_interval_ms", c_.batch_interval_ms, 0, 3600000));
    ONCEFLOW_RETURN_IF_ERROR(Range("max_records_per_partition", c_.max_records_per_partition, 1,
                                   std::numeric_limits<int64_t>::max()));
    ONCEFLOW_RETURN_IF_ERROR(Range("max_task_failures", c_.max_task_failures, 1, kInt32Max));
    ONCEFLOW_RETURN_IF_ERROR(Range("max_batch_failures", c_.max_batch_failures, 1, kInt32Max));
    if (!(c_.speculation_multiplier > 1.0)) {
      return Error("speculation_multiplier", "must be a number greater than 1, got " +
                                                 std::to_string(c_.speculation_multiplier));
    }
    ONCEFLOW_RETURN_IF_ERROR(Range("speculation_min_ms", c_.speculation_min_ms, 0, 86400000));
    ONCEFLOW_RETURN_IF_ERROR(Range("executor_threads", c_.executor_threads, 0, 1024));
    ONCEFLOW_RETURN_IF_ERROR(Range("state_tasks", c_.state_tasks, 1, 1024));
    ONCEFLOW_RETURN_IF_ERROR(
        Range("history.max_batches", c_.history.max_batches, 1, kMaxHistoryBatches));
    return Range("state_cache_mb", c_.state_cache_mb, 0, 1 << 20);
  }

  // The same limits as the TOML reader's (source_config.cc), for a builder's options.
  Status CheckNexmark(const NexmarkSourceOptions& o) const {
    ONCEFLOW_RETURN_IF_ERROR(Range("source.events", o.events, 1, int64_t{1} << 50));
    ONCEFLOW_RETURN_IF_ERROR(Range("source.partitions", o.partitions, 1, 65536));
    ONCEFLOW_RETURN_IF_ERROR(
        Range("source.events_per_second", o.events_per_second, 1, 1'000'000'000'000));
    ONCEFLOW_RETURN_IF_ERROR(Range("source.base_time_ms", o.base_time_ms, 0, int64_t{1} << 50));
    ONCEFLOW_RETURN_IF_ERROR(
        Range("source.out_of_order_group", o.out_of_order_group, 1, 1'000'000'000));
    if (o.out_of_order_group % 953 == 0) {
      return Error("source.out_of_order_group",
                   "must not be a multiple of 953 (the permutation's stride), got " +
                       std::to_string(o.out_of_order_group));
    }
    if (o.rate_shape != NexmarkRateShape::kConstant) {
      ONCEFLOW_RETURN_IF_ERROR(
          Range("source.events_per_second", o.events_per_second, 1, 1'000'000'000));
      ONCEFLOW_RETURN_IF_ERROR(
          Range("source.next_events_per_second", o.next_events_per_second, 1, 1'000'000'000));
      ONCEFLOW_RETURN_IF_ERROR(Range("source.rate_period_s", o.rate_period_s, 1, 1'000'000));
    }
    if (o.records.format != RecordFormat::kJson || !o.records.csv_columns.empty() ||
        o.records.csv_delimiter != ",") {
      return Error("source.format", "a nexmark source's records are JSON");
    }
    return Status::Ok();
  }

  Status CheckSource() const {
    if (const KafkaSourceOptions* kafka = c_.source.kafka()) {
      if (kafka->bootstrap.empty()) return Error("source.bootstrap", "required");
      if (kafka->assign == KafkaAssignment::kGroup) {
        ONCEFLOW_RETURN_IF_ERROR(
            Range("source.session_timeout_ms", kafka->session_timeout.count(), 1000, 3'600'000));
      }
    }
    if (const NexmarkSourceOptions* nexmark = c_.source.nexmark()) return CheckNexmark(*nexmark);
    const std::string& topic = c_.source.topic();
    if (topic.empty()) return Error("source.topic", "required");
    if (!std::all_of(topic.begin(), topic.end(), IsNameChar)) {
      return Error("source.topic", "must be letters, digits, '.', '_' or '-', got '" + topic + "'");
    }
    const RecordOptions& records = c_.source.records();
    if (records.format != RecordFormat::kCsv) {
      if (!records.csv_columns.empty()) {
        return Error("source.csv_columns", "only used with format = \"csv\"");
      }
      if (records.csv_delimiter != ",") {
        return Error("source.csv_delimiter", "only used with format = \"csv\"");
      }
    }
    const std::string& d = records.csv_delimiter;
    if (d.size() != 1 || d == "\"" || d == "\n" || d == "\r") {
      return Error("source.csv_delimiter",
                   "must be one character other than a quote or a line break, got '" + d + "'");
    }
    return Status::Ok();
  }

  Status CheckTransforms() const {
    using Type = TransformConfig::Type;
    for (size_t i = 0; i < c_.transforms.size(); ++i) {
      const TransformConfig& t = c_.transforms[i];
      const std::string prefix = "transform[" + std::to_string(i) + "]";
      switch (t.type) {
        case Type::kSelect:
          if (t.fields.empty()) return Error(prefix + ".fields", "must not be empty");
          break;
        case Type::kRename:
          if (t.renames.empty()) return Error(prefix + ".fields", "must not be empty");
          break;
        case Type::kFilter:
          if (t.conditions.empty()) return Error(prefix + ".where", "must not be empty");
          for (size_t j = 0; j < t.conditions.size(); ++j) {
            const TransformConfig::Condition& c = t.conditions[j];
            if (c.expression.empty()) continue;
            Result<TransformConfig::Condition> parsed = ParseWhere(c.expression);
            if (!parsed.has_value() || *parsed != c) {
              return Error(prefix + ".where[" + std::to_string(j) + "]",
                           "cannot parse '" + c.expression + "': " +
                               (parsed.has_value() ? std::string("not an expression")
                                                   : parsed.error().message()));
            }
          }
          break;
        case Type::kCompute: ONCEFLOW_RETURN_IF_ERROR(CheckCompute(t, prefix)); break;
        case Type::kAggregate:
          if (i + 1 != c_.transforms.size()) {
            return Error(prefix + ".type", "an aggregate must be the last transform (its output "
                                           "rows go to the sink)");
          }
          ONCEFLOW_RETURN_IF_ERROR(CheckAggregate(t.aggregate, prefix));
          break;
      }
    }
    // Fields that can never exist are a config error now, not a dead letter per record.
    const RecordOptions& records = c_.source.records();
    std::vector<std::string> columns;
    std::string columns_from;
    if (records.format == RecordFormat::kCsv && !records.csv_columns.empty()) {
      columns = records.csv_columns;
      columns_from = "source.csv_columns";
    } else if (records.format == RecordFormat::kRaw) {
      columns = {"key", "value"};
      columns_from = "source.format = \"raw\" decodes a record as key and value";
    } else if (const NexmarkSourceOptions* nexmark = c_.source.nexmark();
               nexmark != nullptr && nexmark->kind != NexmarkKind::kAll) {
      switch (nexmark->kind) {
        case NexmarkKind::kBid:
          columns = {"auction", "bidder", "price", "channel", "url", "date_time", "extra"};
          columns_from = "a nexmark bid";
          break;
        case NexmarkKind::kAuction:
          columns = {"id",        "item_name", "description", "initial_bid", "reserve",
                     "date_time", "expires",   "seller",      "category",    "extra"};
          columns_from = "a nexmark auction";
          break;
        default:
          columns = {"id",   "name",  "email_address", "credit_card",
                     "city", "state", "date_time",     "extra"};
          columns_from = "a nexmark person";
          break;
      }
    }
    if (!columns_from.empty()) {
      if (Status s = CheckFieldsExist(c_.transforms, columns, columns_from); !s.ok()) {
        return Status::InvalidArgument((c_.file.empty() ? "pipeline config" : c_.file) + ": " +
                                       OneLine(s.message()));
      }
    }
    return Status::Ok();
  }

  // Every expression of a compute transform parses and type-checks; the names are distinct.
  Status CheckCompute(const TransformConfig& t, const std::string& prefix) const {
    if (t.computed.empty()) return Error(prefix + ".fields", "must not be empty");
    for (size_t j = 0; j < t.computed.size(); ++j) {
      const auto& [name, text] = t.computed[j];
      const std::string key = prefix + ".fields." + name;
      if (name.empty()) return Error(key, "the field's name must not be empty");
      for (size_t k = 0; k < j; ++k) {
        if (t.computed[k].first == name) return Error(key, "'" + name + "' is computed twice");
      }
      Result<std::unique_ptr<expr::Expression>> e = expr::Expression::Compile(text);
      if (!e.has_value()) return Error(key, "'" + text + "': " + e.error().message());
    }
    return Status::Ok();
  }

  Status CheckAggregate(const AggregateConfig& a, const std::string& prefix) const {
    if (a.key.empty()) return Error(prefix + ".key", "required");
    if (a.aggregates.empty()) return Error(prefix + ".aggregates", "required");
    for (size_t i = 0; i < a.aggregates.size(); ++i) {
      const AggregateConfig::Aggregate& agg = a.aggregates[i];
      const std::string key = prefix + ".aggregates." + agg.name;
      if (agg.name.empty()) return Error(key, "the output name must not be empty");
      if (std::find(a.key.begin(), a.key.end(), agg.name) != a.key.end()) {
        return Error(key, "'" + agg.name + "' is also a key field");
      }
      for (size_t j = 0; j < i; ++j) {
        if (a.aggregates[j].name == agg.name) return Error(key, "the output name is used twice");
      }
      if (agg.function == AggregateFunction::kCount) {
        if (!agg.field.empty()) return Error(key, "count takes no field");
      } else if (agg.field.empty()) {
        return Error(key, "needs the field it aggregates (e.g. sum(amount))");
      }
    }
    if (!a.windowed) return Status::Ok();
    const AggregateConfig::Window& w = a.window;
    const std::string window = prefix + ".window";
    if (w.size_ms < 1) return Error(window + ".size", "must be at least 1 ms");
    if (w.type == WindowType::kSliding) {
      if (w.slide_ms < 1) return Error(window + ".slide", "must be at least 1 ms");
      if (w.slide_ms > w.size_ms) {
        return Error(window + ".slide", "must not exceed window.size (records between windows "
                                        "would be counted in none)");
      }
    }
    if (w.time_field.empty()) return Error(window + ".time_field", "required");
    if (w.allowed_lateness_ms < 0) {
      return Error(window + ".allowed_lateness", "must be at least 0 ms");
    }
    if (w.idle_timeout_ms < 0) return Error(window + ".idle_timeout", "must be at least 0 ms");
    if (w.emit_open_windows_at_end && w.emit != WindowEmit::kFinal) {
      return Error(window + ".emit_open_windows_at_end",
                   "needs emit = \"final\" (with \"update\" every window is emitted as it "
                   "changes)");
    }
    return Status::Ok();
  }

  // The keys shared by the SQL sinks.
  template <typename Options>
  Status CheckSqlSink(const Options& o) const {
    if (o.mode != SinkMode::kAdditive) {
      if (!o.add.empty()) return Error("sink.add", "only used with mode = \"additive\"");
      if (!o.append.table.empty() || !o.append.columns.empty()) {
        return Error("sink.append", "only used with mode = \"additive\"");
      }
    }
    if (o.mode == SinkMode::kAdditive) {
      if (!o.table.empty()) {
        return Error("sink.table", "only used with mode = \"append\" or \"upsert\"");
      }
      if (!o.statements.empty()) {
        return Error("sink.statements", "only used with mode = \"statements\"");
      }
      ONCEFLOW_RETURN_IF_ERROR(CheckAdditive(o.add, o.append));
    } else if (o.mode == SinkMode::kStatements) {
      if (!o.table.empty()) {
        return Error("sink.table", "only used with mode = \"append\" or \"upsert\"");
      }
      if (o.statements.empty()) return Error("sink.statements", "required");
    } else {
      if (!o.statements.empty()) {
        return Error("sink.statements", "only used with mode = \"statements\"");
      }
      if (o.table.empty()) return Error("sink.table", "required");
    }
    if (o.mode == SinkMode::kUpsert) {
      if (o.key.empty()) return Error("sink.key", "required");
    } else if (!o.key.empty()) {
      return Error("sink.key", "only used with mode = \"upsert\"");
    }
    return Status::Ok();
  }

  // Additive mode's entries: each names its table, key and added columns; one table has one
  // key; every field is named. (The sink checks the identifiers themselves.)
  Status CheckAdditive(std::span<const AddTo> add, const AppendTo& append) const {
    if (add.empty()) return Error("sink.add", "required in additive mode");
    for (size_t i = 0; i < add.size(); ++i) {
      const std::string key = "sink.add[" + std::to_string(i) + "]";
      if (add[i].table.empty()) return Error(key + ".table", "required");
      ONCEFLOW_RETURN_IF_ERROR(CheckColumnFields(key + ".key", add[i].key, false));
      ONCEFLOW_RETURN_IF_ERROR(CheckColumnFields(key + ".add", add[i].add, true));
      for (const ColumnField& d : add[i].add) {
        for (const ColumnField& k : add[i].key) {
          if (d.column == k.column) {
            return Error(key + ".add." + d.column, "is a key column of the table; it cannot be "
                                                   "added to");
          }
        }
      }
      for (size_t j = 0; j < i; ++j) {
        if (add[j].table != add[i].table) continue;
        auto columns = [](const AddTo& a) {
          std::vector<std::string> c;
          for (const ColumnField& k : a.key) c.push_back(k.column);
          std::sort(c.begin(), c.end());
          return c;
        };
        if (columns(add[j]) != columns(add[i])) {
          return Error(key + ".key", "table '" + add[i].table +
                                         "' is keyed by other columns in sink.add[" +
                                         std::to_string(j) + "]; one table has one key");
        }
        break;
      }
    }
    if (append.table.empty()) {
      if (!append.columns.empty()) return Error("sink.append.table", "required");
      return Status::Ok();
    }
    return CheckColumnFields("sink.append.columns", append.columns, false);
  }

  // column = "field" pairs: at least one, no column twice, every field named ("-field" in
  // sink.add's add).
  Status CheckColumnFields(const std::string& key, std::span<const ColumnField> pairs,
                           bool signed_fields) const {
    if (pairs.empty()) return Error(key, "required, not empty");
    for (size_t i = 0; i < pairs.size(); ++i) {
      if (pairs[i].column.empty()) return Error(key, "a column name is empty");
      for (size_t j = 0; j < i; ++j) {
        if (pairs[j].column == pairs[i].column) {
          return Error(key + "." + pairs[i].column, "the column is named twice");
        }
      }
      std::string_view field = pairs[i].field;
      if (signed_fields && field.starts_with('-')) field.remove_prefix(1);
      if (field.empty()) return Error(key + "." + pairs[i].column, "names no field");
    }
    return Status::Ok();
  }

  Status CheckSink() const {
    if (code_.no_sink) return Status::Ok();
    if (const SqliteSinkOptions* sqlite = c_.sink.sqlite()) {
      if (sqlite->path.empty()) return Error("sink.path", "required");
      return CheckSqlSink(*sqlite);
    }
    if (const PostgresSinkOptions* postgres = c_.sink.postgres()) {
      if (postgres->conninfo.empty()) return Error("sink.conninfo", "required");
      return CheckSqlSink(*postgres);
    }
    if (c_.sink.blackhole() != nullptr) return Status::Ok();
    const KafkaSinkOptions& kafka = *c_.sink.kafka();
    if (kafka.bootstrap.empty()) return Error("sink.bootstrap", "required");
    if (kafka.topic.empty()) return Error("sink.topic", "required");
    if (!std::all_of(kafka.topic.begin(), kafka.topic.end(), IsNameChar)) {
      return Error("sink.topic",
                   "must be letters, digits, '.', '_' or '-', got '" + kafka.topic + "'");
    }
    return Status::Ok();
  }

  Status CheckCombinations() const {
    const bool aggregate =
        !c_.transforms.empty() && c_.transforms.back().type == TransformConfig::Type::kAggregate;
    const std::string aggregate_name =
        "an aggregate (transform[" + std::to_string(c_.transforms.size() - 1) + "])";
    if (c_.commit_mode == CommitMode::kTask && (aggregate || code_.update_state)) {
      return Error("commit_mode", "\"task\" cannot be used with " +
                                      (aggregate ? aggregate_name : std::string("update_state")) +
                                      ": a stateful pipeline commits each batch as one task");
    }
    if (c_.source.group_assigned() && aggregate) {
      // Each process commits the partitions it owns as tasks of their own: an aggregate (one
      // task over every partition) cannot be shared.
      return Error("source.assign", "\"group\" cannot feed " + aggregate_name +
                                        ": its keys span every partition, so one process must "
                                        "own them all");
    }
    return Status::Ok();
  }

  const PipelineConfig& c_;
  const CodeOperators& code_;
};

}  // namespace

Status Validate(const PipelineConfig& config, const CodeOperators& code) {
  return Validator(config, code).Run();
}

}  // namespace onceflow::config
