// The typed options of a pipeline's sources and sinks, one struct per type, and the enums of
// its settings. PipelineBuilder takes them (FromLog, FromKafka, ToSqlite, ToPostgres, ToKafka),
// a TOML file's [source] and [sink] tables are read into them (README, "Pipeline config"), and
// the sources and sinks themselves are opened with them: there is no other copy.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace onceflow {

// How output rows become writes in a SQL sink: insert into a table, upsert by key columns, or
// run SQL statements with :field parameters per row (the way to exactly-once non-idempotent
// effects, such as balance = balance + :amount), or add the batch's deltas, summed per key, to
// counters and balances (additive: one statement per table and key per batch, README
// "Additive upserts"). TOML: sink.mode = "append" | "upsert" | "statements" | "additive".
enum class SinkMode { kAppend, kUpsert, kStatements, kAdditive };

// A table column and the row field that gives its value: {"src", "from"}. In AddTo::add the
// field may start with '-': the column takes the field's value negated.
struct ColumnField {
  std::string column{};
  std::string field{};

  bool operator==(const ColumnField&) const = default;
};

// Additive mode: every row adds to one row of `table`, the one whose `key` columns hold the
// row's key fields, `column += field` (or `-= field`) for each of `add`; a key not there yet is
// inserted with the sums. Several entries may name the same table (a transfer debits `from` and
// credits `to` of one accounts table) with the same key columns; a batch's deltas are summed
// per table and key first, then one upsert per key. TOML: [[sink.add]] table = "accounts",
// key = { id = "from" }, add = { balance = "-amount" }.
struct AddTo {
  std::string table{};
  std::vector<ColumnField> key{};
  std::vector<ColumnField> add{};

  bool operator==(const AddTo&) const = default;
};

// Additive mode: the plain rows written beside the sums, in the same transaction (a ledger):
// every row inserted into `table`, `columns` from its fields (a batched insert; COPY on
// PostgreSQL). `table` empty: none. TOML: [sink.append] table = "ledger",
// columns = { src = "from", amount = "amount" }.
struct AppendTo {
  std::string table{};
  std::vector<ColumnField> columns{};

  bool operator==(const AppendTo&) const = default;
};

// kBatch: all tasks of a batch commit in one sink transaction (one fsync per batch). kTask: each
// task commits as soon as it finishes (a slow task does not hold back the others' output); not
// with a stateful operator. TOML: commit_mode = "batch" | "task".
enum class CommitMode { kBatch, kTask };

// What a batch re-run after a crash does when its output differs from the output the sink
// committed for it (a non-deterministic transform or function: docs/protocol.md, "Replay
// check"). kWarn: one log line and the replay_mismatches counter, the run goes on with the
// committed output. kFail: the same, then the run stops with a final error (every restart
// re-runs the batch and stops again until the function is deterministic or the option
// changes). kOff: no output digest is computed or stored, nothing is checked. TOML:
// on_replay_mismatch = "warn" | "fail" | "off".
enum class ReplayMismatch { kWarn, kFail, kOff };

// How a source record's bytes become a row. kJson: a JSON object. kCsv: one CSV line. kRaw: the
// fields "key" and "value" as strings. TOML: source.format.
enum class RecordFormat { kJson, kCsv, kRaw };

// Where a new pipeline starts reading each partition; ignored once a checkpoint exists.
// TOML: source.starting_offsets.
enum class StartingOffsets { kEarliest, kLatest };

// An event-time window of an aggregate. kTumbling: fixed, non-overlapping windows of `size`.
// kSliding: windows of `size` starting every `slide`. TOML: transform.window.type.
enum class WindowType { kTumbling, kSliding };

// When an aggregate emits a window: kUpdate, the window's current row in every batch that
// changes it; kFinal, once, when the watermark passes its end. TOML: transform.window.emit.
enum class WindowEmit { kUpdate, kFinal };

// What an aggregate computes per key (and window): the number of rows, or the sum, minimum,
// maximum or average of a field. TOML: "count", "sum(f)", "min(f)", "max(f)", "avg(f)".
enum class AggregateFunction { kCount, kSum, kMin, kMax, kAvg };

// One output column of an aggregate: `name` = `function`(`field`); `field` is left empty for
// kCount. E.g. {.name = "spent", .function = AggregateFunction::kSum, .field = "amount"}.
struct AggregateOf {
  std::string name{};
  AggregateFunction function = AggregateFunction::kCount;
  std::string field{};
};

// Which partitions of a Kafka topic this process reads. kAll: every partition. kGroup: those
// the consumer group gives it, shared with the pipeline's other processes (scale-out; not with
// an aggregate). TOML: source.assign = "all" | "group".
enum class KafkaAssignment { kAll, kGroup };

// Further librdkafka settings, name and value, applied after onceflow's own.
using KafkaSettings = std::vector<std::pair<std::string, std::string>>;

// How a source's records are decoded, shared by every source type. (The empty braces on the
// members of these structs let designated initializers leave them out without a warning.)
struct RecordOptions {
  RecordFormat format = RecordFormat::kJson;
  // kCsv: the column names. Empty: each partition's record at offset 0 is the header line.
  std::vector<std::string> csv_columns{};
  // kCsv: one character other than a quote or a line break.
  std::string csv_delimiter = ",";
  StartingOffsets starting_offsets = StartingOffsets::kEarliest;

  bool operator==(const RecordOptions&) const = default;
};

// A topic of the embedded log in the pipeline's data directory (TOML: [source] type = "log").
struct LogSourceOptions {
  // Letters, digits, '.', '_' or '-'.
  std::string topic{};
  RecordOptions records{};

  bool operator==(const LogSourceOptions&) const = default;
};

// A Kafka topic read in exact offset ranges (TOML: [source] type = "kafka"). The engine owns the
// offsets; the consumer group only assigns partitions (kGroup) and is told the committed
// offsets for monitoring.
struct KafkaSourceOptions {
  // host:port[,host:port...]. In TOML it may name ${ENV} variables.
  std::string bootstrap{};
  std::string topic{};
  // The consumer group. Empty: "onceflow-<pipeline name>".
  std::string group{};
  KafkaAssignment assign = KafkaAssignment::kAll;
  // kGroup: a member silent for this long loses its partitions to the others (1 s .. 1 h).
  std::chrono::milliseconds session_timeout{10000};
  RecordOptions records{};
  // How long a read waits for the records of a range the broker does not deliver (a broker
  // down, a range past the end) before it reports the range unreadable. Not in TOML.
  std::chrono::milliseconds read_timeout{30000};
  // How long a metadata or offsets request may take. Not in TOML.
  std::chrono::milliseconds request_timeout{10000};
  KafkaSettings extra{};  // further consumer settings; not in TOML

  bool operator==(const KafkaSourceOptions&) const = default;
};

// Which events of the Nexmark generator a source yields (TOML: source.kind): bids, auctions,
// people, or all three (each row then has an event_type field: 0 person, 1 auction, 2 bid).
enum class NexmarkKind { kBid, kAuction, kPerson, kAll };

// The event rate of the Nexmark generator over event time (TOML: source.rate_shape), as the
// reference generator's rate shapes: constant; square (half a period at events_per_second,
// half at next_events_per_second); sine (ten steps from events_per_second down to
// next_events_per_second and back along a cosine).
enum class NexmarkRateShape { kConstant, kSquare, kSine };

// A deterministic generator of the Nexmark benchmark's events (TOML: [source] type = "nexmark";
// README, "Nexmark"). Event n (n from 0) is a pure function of n and these options; event n of
// the selected kind is in partition n mod `partitions`, at offset n / `partitions`, so that a
// batch reads exact ranges as from a log. Every option is part of the source's identity: a
// pipeline whose generator settings change is refused like one whose topic changed.
struct NexmarkSourceOptions {
  // How many events the generator makes in all (people, auctions and bids, 1:3:46): the kind's
  // share of them is read, then the source ends.
  int64_t events = 0;
  int32_t partitions = 1;
  NexmarkKind kind = NexmarkKind::kBid;
  // Event time: event n is at base_time_ms + n * 1000 / events_per_second (integer ms).
  int64_t events_per_second = 10'000'000;
  int64_t base_time_ms = 1'704'067'200'000;  // 2024-01-01T00:00:00Z
  // A shaped rate (README, "Nexmark"): the rate moves between events_per_second and
  // next_events_per_second over rate_period_s seconds of event time, in steps. Constant: the
  // two others are not used.
  NexmarkRateShape rate_shape = NexmarkRateShape::kConstant;
  int64_t next_events_per_second = 0;  // REQUIRES with a shape: >= 1
  int64_t rate_period_s = 600;
  // Out-of-orderness as the reference generator's outOfOrderGroupSize: within each group of
  // this many events, the event times are permuted (1: in order). Not a multiple of 953.
  int64_t out_of_order_group = 1;
  // Decoded as JSON (what `onceflow nexmark generate` writes); only starting_offsets is read.
  RecordOptions records{};

  bool operator==(const NexmarkSourceOptions&) const = default;
};

// A sink that writes nothing (TOML: [sink] type = "blackhole"), for comparison with published
// benchmark figures only: it counts the rows and keeps the exactly-once bookkeeping, one
// progress row per task in a file in the pipeline's checkpoint directory (fsynced per commit),
// so that a run with it pays what a real sink's commit protocol costs apart from the writes.
struct BlackholeSinkOptions {
  bool operator==(const BlackholeSinkOptions&) const = default;
};

// A SQLite database file (TOML: [sink] type = "sqlite"): output rows and progress rows commit
// in one transaction.
struct SqliteSinkOptions {
  // The database file, created if missing; its directory must exist. TOML resolves a relative
  // path against the file's directory.
  std::string path{};
  // Statements run at every open, before anything else (CREATE TABLE IF NOT EXISTS ...).
  std::vector<std::string> init{};
  SinkMode mode = SinkMode::kAppend;
  // kAppend, kUpsert: the table the rows go to, a plain identifier ([A-Za-z_][A-Za-z0-9_]*).
  std::string table{};
  // kUpsert: the conflict columns; they need a PRIMARY KEY or UNIQUE constraint on the table.
  std::vector<std::string> key{};
  // kStatements: SQL statements run in order for every row, with named parameters (:field,
  // @field or $field) bound from the row's fields. No transaction control.
  std::vector<std::string> statements{};
  // kAdditive: the sums (at least one entry) and the plain rows beside them.
  std::vector<AddTo> add{};
  AppendTo append{};
  // How long a commit waits for another writer of the same file before it reports busy. Not in
  // TOML.
  int busy_timeout_ms = 10000;

  bool operator==(const SqliteSinkOptions&) const = default;
};

// A PostgreSQL database (TOML: [sink] type = "postgres"): output rows and progress rows commit
// in one transaction.
struct PostgresSinkOptions {
  // A libpq connection string ("host=... dbname=... user=... password=...") or URI. In TOML it
  // may name ${ENV} variables (for the password). Never printed.
  std::string conninfo{};
  // Statements run at every open, before anything else (CREATE TABLE IF NOT EXISTS ...).
  std::vector<std::string> init{};
  SinkMode mode = SinkMode::kAppend;
  // kAppend, kUpsert: the table the rows go to, a plain identifier (folded to lower case, as
  // PostgreSQL folds unquoted names).
  std::string table{};
  // kUpsert: the conflict columns; they need a PRIMARY KEY or UNIQUE constraint on the table.
  std::vector<std::string> key{};
  // kStatements: SQL statements run in order for every row, with :field named parameters bound
  // from the row's fields. No transaction control.
  std::vector<std::string> statements{};
  // kAdditive: the sums (at least one entry) and the plain rows beside them.
  std::vector<AddTo> add{};
  AppendTo append{};
  // After the connection is lost, how long a commit keeps reconnecting (with backoff) before it
  // reports a retryable error. Not in TOML.
  int reconnect_timeout_ms = 15000;

  bool operator==(const PostgresSinkOptions&) const = default;
};

// A Kafka topic (TOML: [sink] type = "kafka"): each task's rows and its progress marker in one
// Kafka transaction (docs/formats/sink_progress.md); read the output with read_committed.
struct KafkaSinkOptions {
  // host:port[,...]. In TOML it may name ${ENV} variables.
  std::string bootstrap{};
  // The output topic; it must exist. Letters, digits, '.', '_' or '-'.
  std::string topic{};
  // The field whose value (as text) is the output record's key; "" or a missing field: no key
  // (the default partitioner then spreads records). Value: the row as a JSON object.
  std::string key_field{};
  // The progress markers: compacted, one partition, created at open if missing. Not in TOML.
  std::string progress_topic = "onceflow_progress";
  // Dead letters as JSON objects; created at open if missing. Not in TOML.
  std::string dead_letter_topic = "onceflow_dead_letters";
  // A transaction left open by a crashed process is aborted by the broker after this long, or
  // at once when the task's producer starts again. Not in TOML.
  std::chrono::milliseconds transaction_timeout{30000};
  std::chrono::milliseconds request_timeout{30000};  // not in TOML
  KafkaSettings extra{};                             // further producer settings; not in TOML

  bool operator==(const KafkaSinkOptions&) const = default;
};

}  // namespace onceflow
