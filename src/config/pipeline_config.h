// PipelineConfig: a pipeline as written in its TOML file, validated. Relative paths are
// resolved against the file's directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "onceflow/options.h"
#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::config {

using onceflow::CommitMode;
using onceflow::RecordFormat;
using onceflow::ReplayMismatch;
using onceflow::SinkMode;
using onceflow::StartingOffsets;

// The source: one options struct per type (include/onceflow/options.h), so that no setting is
// declared twice.
struct SourceConfig {
  std::variant<LogSourceOptions, KafkaSourceOptions, NexmarkSourceOptions> options;

  // "log", "kafka" or "nexmark", as in TOML's source.type.
  std::string_view type() const;
  // The topic read; "" for a nexmark source.
  const std::string& topic() const;
  const RecordOptions& records() const;
  RecordOptions& records();
  // The Kafka options, or nullptr for another type.
  const KafkaSourceOptions* kafka() const { return std::get_if<KafkaSourceOptions>(&options); }
  const NexmarkSourceOptions* nexmark() const {
    return std::get_if<NexmarkSourceOptions>(&options);
  }
  // Whether the consumer group assigns this process its partitions (Kafka, assign = "group").
  bool group_assigned() const;

  bool operator==(const SourceConfig&) const = default;
};

// A running aggregate per key, optionally per event-time window (type = "aggregate"; README
// "Aggregates and windows").
struct AggregateConfig {
  using Function = AggregateFunction;  // the public enum (onceflow/options.h)
  struct Aggregate {
    std::string name;  // the output field
    Function function = Function::kCount;
    std::string field;  // the input field (not for count)

    bool operator==(const Aggregate&) const = default;
  };
  struct Window {
    using Type = WindowType;
    using Emit = WindowEmit;
    Type type = Type::kTumbling;
    int64_t size_ms = 0;
    int64_t slide_ms = 0;    // sliding; tumbling: = size_ms
    std::string time_field;  // integer milliseconds since the Unix epoch
    int64_t allowed_lateness_ms = 0;
    Emit emit = Emit::kUpdate;
    // The watermark is the minimum over the input partitions of their max event time (minus
    // the allowed lateness); a partition that gave no event time for this long, in batch time,
    // is idle and no longer holds it back (0: only the partitions of the batch at hand count).
    int64_t idle_timeout_ms = 30000;
    // emit = "final": `run --until-caught-up` ends with a batch that closes and emits the
    // windows still open.
    bool emit_open_windows_at_end = false;

    bool operator==(const Window&) const = default;
  };
  std::vector<std::string> key;       // the grouping fields, non-empty
  std::vector<Aggregate> aggregates;  // in file order, non-empty
  bool windowed = false;
  Window window;
  // Fold per key inside each map task before routing to the state tasks (map-side combining;
  // not with min/max). Off: every row is routed and folded by its state task.
  bool combine = true;

  bool operator==(const AggregateConfig&) const = default;
};

// A built-in transform between source and sink.
struct TransformConfig {
  enum class Type { kSelect, kRename, kFilter, kCompute, kAggregate };
  Type type = Type::kSelect;
  std::vector<std::string> fields;                           // select: fields to keep, in order
  std::vector<std::pair<std::string, std::string>> renames;  // rename: from -> to
  // filter: every condition must hold. A condition compares a field with a literal:
  // `field op literal`, op one of == != < <= > >=, literal a number, true/false, null or a
  // quoted string; or it is an expression of the expression language (src/expr/parser.h),
  // kept as its text in `expression` (field, op and literal then empty).
  struct Condition {
    std::string field;
    std::string op;
    Value literal;
    std::string expression;

    bool operator==(const Condition&) const = default;
  };
  std::vector<Condition> conditions;
  // compute: output field -> expression (src/expr/), in order; each sees the fields computed
  // before it.
  std::vector<std::pair<std::string, std::string>> computed;
  // select, rename, filter, compute: a field the transform needs that the row lacks is read as null
  // (on_missing = "null", SQL's semantics) instead of sending the record to the dead letters
  // with an error naming the field (on_missing = "error", the default).
  bool missing_as_null = false;
  AggregateConfig aggregate;  // aggregate: must be the last transform

  bool operator==(const TransformConfig&) const = default;
};

// The sink: one options struct per type (include/onceflow/options.h).
struct SinkConfig {
  std::variant<SqliteSinkOptions, PostgresSinkOptions, KafkaSinkOptions, BlackholeSinkOptions>
      options;

  // "sqlite", "postgres", "kafka" or "blackhole", as in TOML's sink.type.
  std::string_view type() const;
  // The options of one type, or nullptr for another type.
  const SqliteSinkOptions* sqlite() const { return std::get_if<SqliteSinkOptions>(&options); }
  const PostgresSinkOptions* postgres() const { return std::get_if<PostgresSinkOptions>(&options); }
  const KafkaSinkOptions* kafka() const { return std::get_if<KafkaSinkOptions>(&options); }
  const BlackholeSinkOptions* blackhole() const {
    return std::get_if<BlackholeSinkOptions>(&options);
  }

  bool operator==(const SinkConfig&) const = default;
};

// history.max_batches at most (a generation file of this many records is some GiB).
constexpr int64_t kMaxHistoryBatches = 1000000;

// The batch history (src/history, docs/formats/history.md): TOML table [history].
struct HistoryConfig {
  bool enabled = true;
  // Batch records kept under the checkpoint directory (the last this many).
  int64_t max_batches = 10000;

  bool operator==(const HistoryConfig&) const = default;
};

struct PipelineConfig {
  std::string name;
  std::string file;  // the TOML file it came from ("" when built in code)
  // The least time between the starts of two batches. 0: a batch starts as soon as records are
  // available and the previous batch has committed (visibility in milliseconds).
  int64_t batch_interval_ms = 0;
  int64_t max_records_per_partition = 100000;  // per batch: the rate limit / backpressure
  // true: the records per partition of a batch adapt to what the sink commits fastest, up to
  // max_records_per_partition (engine/batch_sizer.h); false: always max_records_per_partition.
  bool adaptive_batch_size = true;
  int32_t max_task_failures = 4;   // attempts of a task before the batch fails
  int32_t max_batch_failures = 3;  // attempts of a batch before the pipeline stops
  bool speculation = true;
  double speculation_multiplier = 4.0;  // a task slower than this x the median gets a twin
  int64_t speculation_min_ms = 100;     // ... and only once it has run this long
  int32_t executor_threads = 0;         // 0: the number of cores
  CommitMode commit_mode = CommitMode::kBatch;
  ReplayMismatch on_replay_mismatch = ReplayMismatch::kWarn;
  // Keyed state is partitioned into this many state tasks; fixed when the state store is
  // created (a key must always reach the same task).
  int32_t state_tasks = 4;
  // The budget of the cache of committed state values in front of RocksDB, MiB (0: no cache).
  int64_t state_cache_mb = 256;
  HistoryConfig history;
  SourceConfig source;
  std::vector<TransformConfig> transforms;
  SinkConfig sink;

  bool operator==(const PipelineConfig&) const = default;
};

// Fills in the settings whose default depends on another: a Kafka source's empty group becomes
// "onceflow-<name>". The TOML reader and PipelineBuilder::Build both call it, so that a file and
// the equivalent builder calls give equal configs.
void FillDefaults(PipelineConfig* config);

// Reads and validates a pipeline file. The keys are the fields above: top-level scalars,
// [source], [[transform]] (type = "select" with fields = [...], "rename" with
// fields = { old = "new", ... } kept in file order, "filter" with where = ["amount > 0", ...] in
// the language of ParseWhere in condition.h, "compute" with fields = { name = "EXPR", ... } in
// file order) and [sink]. Errors are invalid_argument naming
// the file and the full key (e.g. "ledger.toml: sink.mode: expected one of append, upsert,
// statements, got 'apend'", "ledger.toml: sink.tabel: unknown key (did you mean 'table'?)"); a
// TOML syntax error is "<file>:<line>:<column>: <description>". Unknown keys, and keys of another
// sink mode or source format, are refused. An unreadable file: not_found or io_error from the
// read. sink.path comes back absolute (":memory:" stays as is).
Result<PipelineConfig> LoadPipelineConfig(const std::string& path);
// The same from TOML text; `path` is for messages and relative paths ("" : relative to the
// working directory, messages say "pipeline config").
Result<PipelineConfig> ParsePipelineConfig(std::string_view toml, const std::string& path);

}  // namespace onceflow::config
