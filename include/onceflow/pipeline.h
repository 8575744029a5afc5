// The public pipeline API: build a pipeline from a source, row operators and a sink, and run
// it exactly once. The same engine runs pipelines written as TOML files (`onceflow run`).
//
//   auto pipeline = onceflow::PipelineBuilder("ledger")
//                       .FromLog({.topic = "transfers"})
//                       .Where({"amount > 0"})
//                       .ToSqlite({.path = "bank.db",
//                                  .mode = onceflow::SinkMode::kStatements,
//                                  .statements = {...}})
//                       .Build();
//   onceflow::Status s = (*pipeline)->Run({.data_dir = "data", .until_caught_up = true});
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/offset_range.h"
#include "onceflow/options.h"
#include "onceflow/pipeline_status.h"
#include "onceflow/row.h"
#include "onceflow/status.h"
#include "onceflow/verify_report.h"

namespace onceflow {

// What a batch is, for user code that needs it (foreach_batch, the seed's foreachRDD escape
// hatch). Identical when a batch is re-run after a crash: use batch_time_ms and seed instead of
// the wall clock and randomness, and batch_id to make external effects idempotent.
struct BatchContext {
  std::string pipeline;
  BatchId batch_id;
  int64_t batch_time_ms = 0;
  int64_t watermark_ms = 0;
  uint64_t seed = 0;
  Epoch epoch;
  std::vector<OffsetRange> ranges;  // per input partition: [from, until)
  // The map task a batch function runs in (its input partition); -1 for foreach_batch, which
  // sees the whole batch.
  int32_t task = -1;
  // The same for every attempt and every re-run of this (pipeline, task, batch) and different
  // for any other (it also names the batch's offset ranges, so a pipeline started afresh does
  // not reuse an old key for other data): key external effects by it.
  // "<pipeline>.b<batch>.t<task>.<16 hex digits>", "all" in place of t<task> for foreach_batch.
  std::string idempotency_key;
};

// What a whole-batch function (PipelineBuilder::TransformBatch) returns: its output rows, and
// the input rows it refuses, which go to the dead letters (never a silent drop).
struct BatchOutput {
  std::vector<Row> rows;
  // Optional: for each output row, the index of the input row it came from (its source
  // offset for the dead letters and per-partition order). Empty: the rows are 1:1 with the
  // input when there are as many, else all are credited to the last input row.
  std::vector<size_t> from;
  struct Rejected {
    size_t index = 0;   // of the input row (or of the last one, when unknown)
    std::string row;    // the row as the function saw or returned it, for the dead letter
    std::string error;  // one line, naming the field and what is wrong
  };
  std::vector<Rejected> rejected;
};

// One key's share of a batch for the per-batch keyed-state step
// (PipelineBuilder::UpdateStateBatch): the engine fills key, values and state; the function
// sets state, out and, to refuse the key's rows, error.
struct KeyedStateUpdate {
  Row key;  // the key fields
  // The key's rows of the batch in offset order (partition by partition); empty when the key
  // times out (StateOptions::timeout): its state is then removed whatever the function does.
  std::span<const Row> values;
  // In: the key's committed state (nullopt: none). Out: its new state (reset it to remove it).
  std::optional<Row> state;
  std::vector<Row> out;  // the rows the key emits, in order
  // Not empty: the key's rows go to the dead letters with this one-line message, and its state
  // and out are ignored (the state stays as it was).
  std::string error;
};

// Counters of a running pipeline (process-local, since it started).
struct PipelineStats {
  int64_t batches_committed = 0;
  int64_t batches_replayed = 0;  // unfinished batches re-run at recovery
  int64_t batches_fenced = 0;    // scale-out: batches refused because their partitions moved
  int64_t records_in = 0;        // source records read by winning task attempts
  int64_t header_records = 0;    // of records_in: csv header lines (not data)
  int64_t rows_out = 0;          // rows handed to the sink
  int64_t dead_letters = 0;
  int64_t task_attempts = 0;
  int64_t task_failures = 0;
  int64_t speculative_attempts = 0;
  int64_t batch_retries = 0;
  int64_t already_committed = 0;  // task commits the sink reported as done before
  // Of already_committed: re-run task commits whose output differed from the committed output
  // (a non-deterministic transform or function; docs/protocol.md, "Replay check").
  int64_t replay_mismatches = 0;
  int64_t late_records = 0;  // records older than the watermark (dead-lettered)
  // Recovery work: the records of the batches re-run at recovery (at most one batch: state is
  // never rebuilt from history).
  int64_t records_reprocessed = 0;
  BatchId last_batch{-1};
};

struct RunOptions {
  std::string data_dir = "./onceflow-data";
  // Exit once everything that was in the source when Run started is committed.
  bool until_caught_up = false;
  // Stop after this many batches (-1: no limit). For tests and benchmarks.
  int64_t max_batches = -1;
  // Called on the driver thread after each committed batch.
  std::function<void(const BatchContext&, const PipelineStats&)> on_batch_committed;
  // Receives one line per notable event (recovery, retries). Default: stderr.
  std::function<void(const std::string&)> on_log;
  // The command that starts this pipeline afresh, named by the refusals that need it (a source
  // that changed or lost committed records). The CLI sets "onceflow reset FILE --yes"; empty:
  // the refusals name the checkpoint directory to delete instead.
  std::string reset_command;
};

// An event-time window of PipelineBuilder::Aggregate (README, "Aggregates and windows").
struct WindowSpec {
  WindowType type = WindowType::kTumbling;
  std::chrono::milliseconds size{0};
  std::chrono::milliseconds slide{0};  // kSliding only
  std::string time_field{};            // integer milliseconds since the Unix epoch
  std::chrono::milliseconds allowed_lateness{0};
  WindowEmit emit = WindowEmit::kUpdate;
  // The watermark is the minimum over the input partitions; one that gave no event time for
  // this long (batch time) is idle and does not hold it back (0: only the batch's own count).
  std::chrono::milliseconds idle_timeout{30000};
  // kFinal: Run with until_caught_up ends with a batch that emits the open windows.
  bool emit_open_windows_at_end = false;
};

// Options of PipelineBuilder::UpdateState.
struct StateOptions {
  // A key whose state was not updated for this long (in batch time) gets a last call with no
  // values, and its state is removed.
  std::optional<std::chrono::milliseconds> timeout;
};

class Pipeline;

namespace internal {
struct PipelineSpec;
struct PipelineAccess;

// How UpdateState keeps a state of type S: in a Row, as field "v" (a Value for the Value
// types, the bytes for trivially copyable types), or the Row itself.
template <typename S>
struct StateCodec {
  static_assert(std::is_trivially_copyable_v<S>,
                "UpdateState: S must be a Row, a Value type or trivially copyable");
  static Row Encode(const S& s) {
    return Row{{"v", std::string(reinterpret_cast<const char*>(&s), sizeof(S))}};
  }
  static std::optional<S> Decode(const Row& r) {
    auto bytes = r.GetString("v");
    if (!bytes || bytes->size() != sizeof(S)) return std::nullopt;
    S s;
    std::memcpy(&s, bytes->data(), sizeof(S));
    return s;
  }
};
template <>
struct StateCodec<Row> {
  static Row Encode(const Row& s) { return s; }
  static std::optional<Row> Decode(const Row& r) { return r; }
};
template <>
struct StateCodec<int64_t> {
  static Row Encode(int64_t s) { return Row{{"v", s}}; }
  static std::optional<int64_t> Decode(const Row& r) { return r.GetInt("v"); }
};
template <>
struct StateCodec<double> {
  static Row Encode(double s) { return Row{{"v", s}}; }
  static std::optional<double> Decode(const Row& r) { return r.GetDouble("v"); }
};
template <>
struct StateCodec<std::string> {
  static Row Encode(const std::string& s) { return Row{{"v", s}}; }
  static std::optional<std::string> Decode(const Row& r) {
    auto v = r.GetString("v");
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
  }
};

// The key handed to UpdateState's function: the Row of key fields, or the single key field as
// a string (ValueToString) or an integer.
template <typename K>
K KeyFromRow(const Row& key);
template <>
inline Row KeyFromRow<Row>(const Row& key) {
  return key;
}
template <>
inline std::string KeyFromRow<std::string>(const Row& key) {
  return key.fields().empty() ? std::string() : ValueToString(key.fields()[0].second);
}
template <>
inline int64_t KeyFromRow<int64_t>(const Row& key) {
  return key.fields().empty() ? 0 : key.GetInt(key.fields()[0].first).value_or(0);
}

inline Row ToOutputRow(Row r) { return r; }
}  // namespace internal

class PipelineBuilder {
 public:
  explicit PipelineBuilder(std::string name);
  ~PipelineBuilder();
  PipelineBuilder(PipelineBuilder&&) noexcept;
  PipelineBuilder& operator=(PipelineBuilder&&) noexcept;

  // The source (one of these; a later call replaces an earlier one): a topic of the embedded
  // log in the data directory, or a Kafka topic (every partition, or the partitions the
  // consumer group gives this process: KafkaAssignment::kGroup).
  PipelineBuilder& FromLog(LogSourceOptions options);
  PipelineBuilder& FromKafka(KafkaSourceOptions options);
  // The Nexmark benchmark's generator: a deterministic source of bids, auctions and people
  // (README, "Nexmark").
  PipelineBuilder& FromNexmark(NexmarkSourceOptions options);

  // The built-in transforms, the same as a TOML file's [[transform]] tables and in the same
  // order relative to the row operators below. A field the row lacks sends the record to the
  // dead letters, or with missing_as_null reads as null (on_missing = "null").
  // Select keeps `fields`, in that order.
  PipelineBuilder& Select(std::vector<std::string> fields, bool missing_as_null = false);
  // Rename renames each `from` to its `to`, in order.
  PipelineBuilder& Rename(std::vector<std::pair<std::string, std::string>> renames,
                          bool missing_as_null = false);
  // Where keeps the rows for which every condition holds: `field op literal`, op one of
  // == != < <= > >=, literal a number, true/false, null or a quoted string ("amount > 0"), or
  // an expression as Compute takes ("MOD(auction, 123) = 0 AND price > 10"), TRUE to keep.
  PipelineBuilder& Where(std::vector<std::string> conditions, bool missing_as_null = false);
  // Compute sets each `name` to the value of its expression, in order (a later one sees the
  // fields set before it): arithmetic, comparisons, AND/OR/NOT, CASE WHEN, IS [NOT] NULL, IN,
  // CAST, string, numeric and time functions, with SQL's NULL semantics (README, "Computed
  // fields"). The expressions are parsed and type-checked by Build(); a failure on a row (a
  // division by zero, say) sends the record to the dead letters.
  //   .Compute({{"price_eur", "price * 0.908"}, {"dir", "SPLIT_INDEX(url, '/', 3)"}})
  PipelineBuilder& Compute(std::vector<std::pair<std::string, std::string>> fields,
                           bool missing_as_null = false);

  // Row operators, applied in order inside each task. They must be deterministic (same row,
  // same result): a batch may be computed more than once. An exception from one sends that
  // record to the dead-letter table.
  PipelineBuilder& Map(std::function<Row(Row)> fn);
  PipelineBuilder& Filter(std::function<bool(const Row&)> fn);
  PipelineBuilder& FlatMap(std::function<std::vector<Row>(Row)> fn);
  // Whole-batch operators: fn gets all the rows of one map task of a batch (one input
  // partition's range, in offset order, after the operators before it) with the batch's
  // context (ctx.task, ctx.idempotency_key), once per task attempt. They must be deterministic
  // given (rows, ctx): a batch may be computed more than once. An error (or an exception) fails
  // the task attempt like any other failure: the task is retried (max_task_failures), then the
  // batch (max_batch_failures), then the run stops with nothing committed past the last good
  // batch. MapBatch returns the new rows; FilterBatch one keep flag per row (as many as rows);
  // FlatMapBatch one list of rows per input row; TransformBatch a BatchOutput (rows, and rows
  // refused to the dead letters). `name` names the operator in errors.
  PipelineBuilder& MapBatch(
      std::function<Result<std::vector<Row>>(std::vector<Row>, const BatchContext&)> fn,
      std::string name = "map_batch");
  PipelineBuilder& FilterBatch(
      std::function<Result<std::vector<bool>>(const std::vector<Row>&, const BatchContext&)> fn,
      std::string name = "filter_batch");
  PipelineBuilder& FlatMapBatch(
      std::function<Result<std::vector<std::vector<Row>>>(std::vector<Row>, const BatchContext&)>
          fn,
      std::string name = "flat_map_batch");
  PipelineBuilder& TransformBatch(
      std::function<Result<BatchOutput>(std::vector<Row>, const BatchContext&)> fn,
      std::string name = "transform_batch");
  // Per-batch reduction by key: the rows of a batch with equal values of `fields` are folded
  // with fn in offset order (partition by partition). The result is committed as one task.
  PipelineBuilder& KeyBy(std::vector<std::string> fields);
  PipelineBuilder& Reduce(std::function<Row(Row acc, const Row& next)> fn);
  // Running aggregates per key: one output row per key a batch changes, with the key fields
  // and the aggregates, e.g. {{"purchases", "count"}, {"spent", "sum(amount)"}} (count, sum(f),
  // min(f), max(f), avg(f)); with a window, per key and window, plus window_start and
  // window_end. State is kept exactly once in the state store (after the sink commit).
  // map_side_combine: fold per key inside each map task first (not with min/max; README,
  // "Aggregates and windows").
  PipelineBuilder& Aggregate(std::vector<std::string> key,
                             std::vector<std::pair<std::string, std::string>> aggregates,
                             std::optional<WindowSpec> window = std::nullopt,
                             bool map_side_combine = true);
  // The same with typed aggregates, e.g. {{.name = "purchases"}, {.name = "spent", .function =
  // AggregateFunction::kSum, .field = "amount"}}.
  PipelineBuilder& Aggregate(std::vector<std::string> key, std::vector<AggregateOf> aggregates,
                             std::optional<WindowSpec> window = std::nullopt,
                             bool map_side_combine = true);
  // mapWithState over Rows: per key and batch, fn gets the key fields, the key's state (nullopt
  // if none: set it to keep state, reset it to remove it) and the key's rows of the batch in
  // offset order, and returns output rows. fn must be deterministic (a batch may be re-run
  // after a crash, from the same state); use ctx.batch_time_ms, not the clock.
  PipelineBuilder& UpdateStateRows(
      std::vector<std::string> key_fields,
      std::function<std::vector<Row>(const Row& key, std::optional<Row>& state,
                                     std::span<const Row> values, const BatchContext& ctx)>
          fn,
      StateOptions options = {});
  // The same step with the whole batch at once: per state task and batch, fn gets every key
  // the task has rows for (KeyedStateUpdate: key, rows, state) and fills in each key's new
  // state and output rows, so that one call covers all the keys of a state task's share of the
  // batch (a Python binding takes its interpreter lock once, not once per key). Keys whose
  // state times out come in a second call (values empty) after the keys with rows. Exactly
  // once as UpdateStateRows: the new states are committed with the batch after the sink, and a
  // re-run batch starts from the same state. fn must be deterministic given (keys, ctx); an
  // error it returns (or an exception) fails the batch attempt, which is retried from the same
  // state; to refuse one key's rows, set that key's error instead.
  PipelineBuilder& UpdateStateBatch(
      std::vector<std::string> key_fields,
      std::function<Status(std::span<KeyedStateUpdate> keys, const BatchContext& ctx)> fn,
      StateOptions options = {});
  // The typed form: K is Row, std::string or int64_t (internal::KeyFromRow); S a Row, int64_t,
  // double, std::string or a trivially copyable struct; Out a Row (or anything with an
  // internal::ToOutputRow overload).
  //   .UpdateState<std::string, int64_t>({"user"}, [](const std::string& user,
  //       std::optional<int64_t>& total, std::span<const onceflow::Row> values,
  //       const onceflow::BatchContext&) { ...; return std::vector<onceflow::Row>{...}; })
  template <typename K, typename S, typename Out = Row, typename Fn>
  PipelineBuilder& UpdateState(std::vector<std::string> key_fields, Fn fn,
                               StateOptions options = {}) {
    return UpdateStateRows(
        std::move(key_fields),
        [fn = std::move(fn)](const Row& key_row, std::optional<Row>& state,
                             std::span<const Row> values, const BatchContext& ctx) {
          std::optional<S> typed;
          if (state) typed = internal::StateCodec<S>::Decode(*state);
          const K key = internal::KeyFromRow<K>(key_row);
          std::vector<Out> out = fn(key, typed, values, ctx);
          if (typed) {
            state = internal::StateCodec<S>::Encode(*typed);
          } else {
            state.reset();
          }
          std::vector<Row> rows;
          rows.reserve(out.size());
          for (Out& o : out) rows.push_back(internal::ToOutputRow(std::move(o)));
          return rows;
        },
        options);
  }
  // Called with every batch's output rows before the sink commit. May run more than once for
  // a batch (after a crash): key external effects by ctx.batch_id.
  PipelineBuilder& ForeachBatch(
      std::function<Status(const BatchContext& ctx, std::span<const Row> rows)> fn);

  // The sink (one of these; a later call replaces an earlier one).
  PipelineBuilder& ToSqlite(SqliteSinkOptions options);
  PipelineBuilder& ToPostgres(PostgresSinkOptions options);
  PipelineBuilder& ToKafka(KafkaSinkOptions options);
  // Counts the rows and drops them, keeping the exactly-once progress rows in the checkpoint
  // directory: for comparison with published benchmark figures only.
  PipelineBuilder& ToBlackhole(BlackholeSinkOptions options = {});

  PipelineBuilder& BatchInterval(std::chrono::milliseconds interval);
  // The records per partition of a batch: adaptive (the default) finds the size the sink
  // commits fastest, up to MaxRecordsPerPartition; fixed is always MaxRecordsPerPartition.
  PipelineBuilder& MaxRecordsPerPartition(int64_t n);
  PipelineBuilder& AdaptiveBatchSize(bool adaptive);
  PipelineBuilder& MaxTaskFailures(int n);
  PipelineBuilder& MaxBatchFailures(int n);
  PipelineBuilder& Speculation(
      bool enabled, double multiplier = 4.0,
      std::chrono::milliseconds min_runtime = std::chrono::milliseconds(100));
  PipelineBuilder& ExecutorThreads(int n);
  // kBatch (default): all tasks of a batch commit in one sink transaction, by the driver.
  // kTask: each task's winning attempt commits its own output as soon as it finishes (not with
  // Aggregate or UpdateState).
  PipelineBuilder& CommitMode(onceflow::CommitMode mode);
  // What a re-run batch whose output differs from the committed one does (default kWarn;
  // include/onceflow/options.h, TOML on_replay_mismatch).
  PipelineBuilder& OnReplayMismatch(ReplayMismatch action);
  // How many state tasks keyed state is partitioned into (default 4); fixed when the state
  // store is created.
  PipelineBuilder& StateTasks(int n);
  // The budget of the cache of committed keyed state in front of RocksDB (default 256 MiB;
  // 0: every state read goes to RocksDB).
  PipelineBuilder& StateCacheMb(int64_t mib);
  // The batch history under the checkpoint directory (include/onceflow/batch_history.h): on by
  // default, keeping the last `max_batches` batch records (TOML [history] enabled, max_batches).
  PipelineBuilder& History(bool enabled, int64_t max_batches = 10000);

  // Validates the pipeline with the same checks and messages as a TOML file's
  // ("pipeline config: <key>: <what is wrong>", e.g. "pipeline config: name: must be letters,
  // digits, '.', '_' or '-', got '../x'"); other errors name the bad builder call.
  Result<std::unique_ptr<Pipeline>> Build();

 private:
  std::unique_ptr<internal::PipelineSpec> spec_;
};

// Lifecycle: Build, Run (blocks), then destroy. Stop may be called from any thread (or a
// signal-handling thread) to end Run after the current batch. Status and Verify only read the
// pipeline's files: they may be called from any thread, before or after Run, or from another
// process while it runs (Status; Verify wants it stopped).
class Pipeline {
 public:
  // The pipeline described by a TOML file (see README, "Pipeline config").
  static Result<std::unique_ptr<Pipeline>> FromConfigFile(const std::string& path);
  ~Pipeline();

  // Recovers from the checkpoint under options.data_dir and runs batches until Stop(),
  // until_caught_up, max_batches, or a fatal error (returned, with nothing committed past the
  // last good batch). (Status is spelled onceflow::Status in this class: Status() below is a
  // member.)
  onceflow::Status Run(const RunOptions& options);
  void Stop();
  PipelineStats stats() const;
  const std::string& name() const;

  // Where the pipeline stands under `data_dir`, read from its checkpoint, its source and (see
  // AuditOptions) its sink without disturbing them: last batch, per-partition committed
  // offsets, lag, sink progress, and any refusal `Run` would make at start (in the result's
  // `refusal`, with its way out). Safe while the pipeline runs, in this process or another.
  // Returns an error when something cannot be read (a damaged checkpoint names its file).
  Result<PipelineStatus> Status(const std::string& data_dir,
                                const AuditOptions& options = {}) const;
  // Audits the pipeline under `data_dir`: the sink's progress rows cover exactly the offsets
  // the checkpoint committed, from where the pipeline started (no gap, no overlap, no batch or
  // epoch the checkpoint does not know), and the source still holds, unchanged, what was
  // committed. Discrepancies are in the report (first_violation() is the first, in one line);
  // an error is returned only when something cannot be read.
  // REQUIRES: the pipeline is not running (else the reads are of different moments).
  Result<VerifyReport> Verify(const std::string& data_dir, const AuditOptions& options = {}) const;

  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

 private:
  friend class PipelineBuilder;
  friend struct internal::PipelineAccess;
  explicit Pipeline(std::unique_ptr<internal::PipelineSpec> spec);
  std::unique_ptr<internal::PipelineSpec> spec_;
  std::atomic<bool> stop_{false};
  struct StatsCell;
  std::unique_ptr<StatsCell> stats_;
};

}  // namespace onceflow
