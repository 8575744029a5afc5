// The public pipeline API: builder, config loading, Run.
#include "onceflow/pipeline.h"

#include <cstdio>

#include "config/aggregate_function.h"
#include "config/condition.h"
#include "config/validator.h"
#include "engine/driver.h"
#include "engine/outage.h"
#include "engine/pipeline_spec.h"
#include "operators/aggregate_operator.h"
#include "operators/transforms.h"
#include "operators/update_state_operator.h"
#include "util/file.h"

namespace onceflow {

using internal::PipelineSpec;
using internal::Stage;

struct Pipeline::StatsCell : engine::StatsBox {};

PipelineBuilder::PipelineBuilder(std::string name) : spec_(std::make_unique<PipelineSpec>()) {
  spec_->config.name = std::move(name);
}
PipelineBuilder::~PipelineBuilder() = default;
PipelineBuilder::PipelineBuilder(PipelineBuilder&&) noexcept = default;
PipelineBuilder& PipelineBuilder::operator=(PipelineBuilder&&) noexcept = default;

namespace {
// Errors found while building are kept and reported by Build(), so calls can be chained.
void Fail(PipelineSpec* spec, Status s) {
  if (spec->build_error.ok()) spec->build_error = std::move(s);
}
}  // namespace

PipelineBuilder& PipelineBuilder::FromLog(LogSourceOptions options) {
  spec_->config.source.options = std::move(options);
  return *this;
}

PipelineBuilder& PipelineBuilder::FromKafka(KafkaSourceOptions options) {
  spec_->config.source.options = std::move(options);
  return *this;
}

PipelineBuilder& PipelineBuilder::FromNexmark(NexmarkSourceOptions options) {
  spec_->config.source.options = std::move(options);
  return *this;
}

namespace {
// A built-in transform: its config joins the pipeline's (where Validate checks it) and a stage
// holds its place among the code operators until Build() makes it.
void AddTransform(PipelineSpec* spec, config::TransformConfig transform) {
  spec->config.transforms.push_back(std::move(transform));
  Stage s;
  s.kind = Stage::Kind::kTransform;
  spec->stages.push_back(std::move(s));
}
}  // namespace

PipelineBuilder& PipelineBuilder::Select(std::vector<std::string> fields, bool missing_as_null) {
  config::TransformConfig t;
  t.type = config::TransformConfig::Type::kSelect;
  t.fields = std::move(fields);
  t.missing_as_null = missing_as_null;
  AddTransform(spec_.get(), std::move(t));
  return *this;
}

PipelineBuilder& PipelineBuilder::Rename(std::vector<std::pair<std::string, std::string>> renames,
                                         bool missing_as_null) {
  config::TransformConfig t;
  t.type = config::TransformConfig::Type::kRename;
  t.renames = std::move(renames);
  t.missing_as_null = missing_as_null;
  AddTransform(spec_.get(), std::move(t));
  return *this;
}

PipelineBuilder& PipelineBuilder::Where(std::vector<std::string> conditions, bool missing_as_null) {
  config::TransformConfig t;
  t.type = config::TransformConfig::Type::kFilter;
  t.missing_as_null = missing_as_null;
  for (size_t i = 0; i < conditions.size(); ++i) {
    Result<config::TransformConfig::Condition> c = config::ParseWhere(conditions[i]);
    if (!c.has_value()) {
      Fail(spec_.get(), Status::InvalidArgument("where[" + std::to_string(i) + "]: cannot parse '" +
                                                conditions[i] + "': " + c.error().message()));
      return *this;
    }
    t.conditions.push_back(std::move(*c));
  }
  AddTransform(spec_.get(), std::move(t));
  return *this;
}

PipelineBuilder& PipelineBuilder::Compute(std::vector<std::pair<std::string, std::string>> fields,
                                          bool missing_as_null) {
  config::TransformConfig t;
  t.type = config::TransformConfig::Type::kCompute;
  t.computed = std::move(fields);
  t.missing_as_null = missing_as_null;
  AddTransform(spec_.get(), std::move(t));  // Build's Validate checks the expressions
  return *this;
}

PipelineBuilder& PipelineBuilder::Map(std::function<Row(Row)> fn) {
  Stage s;
  s.kind = Stage::Kind::kMap;
  s.map = std::move(fn);
  spec_->stages.push_back(std::move(s));
  return *this;
}

PipelineBuilder& PipelineBuilder::Filter(std::function<bool(const Row&)> fn) {
  Stage s;
  s.kind = Stage::Kind::kFilter;
  s.filter = std::move(fn);
  spec_->stages.push_back(std::move(s));
  return *this;
}

PipelineBuilder& PipelineBuilder::FlatMap(std::function<std::vector<Row>(Row)> fn) {
  Stage s;
  s.kind = Stage::Kind::kFlatMap;
  s.flat_map = std::move(fn);
  spec_->stages.push_back(std::move(s));
  return *this;
}

PipelineBuilder& PipelineBuilder::TransformBatch(
    std::function<Result<BatchOutput>(std::vector<Row>, const BatchContext&)> fn,
    std::string name) {
  if (!fn) Fail(spec_.get(), Status::InvalidArgument(name + ": no function"));
  Stage s;
  s.kind = Stage::Kind::kBatch;
  s.batch = std::move(fn);
  s.name = std::move(name);
  spec_->stages.push_back(std::move(s));
  return *this;
}

PipelineBuilder& PipelineBuilder::MapBatch(
    std::function<Result<std::vector<Row>>(std::vector<Row>, const BatchContext&)> fn,
    std::string name) {
  if (!fn) return TransformBatch(nullptr, std::move(name));
  return TransformBatch(
      [fn = std::move(fn)](std::vector<Row> rows, const BatchContext& ctx) -> Result<BatchOutput> {
        ONCEFLOW_ASSIGN_OR_RETURN(std::vector<Row> out, fn(std::move(rows), ctx));
        return BatchOutput{.rows = std::move(out), .from = {}, .rejected = {}};
      },
      std::move(name));
}

PipelineBuilder& PipelineBuilder::FilterBatch(
    std::function<Result<std::vector<bool>>(const std::vector<Row>&, const BatchContext&)> fn,
    std::string name) {
  if (!fn) return TransformBatch(nullptr, std::move(name));
  return TransformBatch(
      [fn = std::move(fn)](std::vector<Row> rows, const BatchContext& ctx) -> Result<BatchOutput> {
        ONCEFLOW_ASSIGN_OR_RETURN(std::vector<bool> keep, fn(rows, ctx));
        if (keep.size() != rows.size()) {
          return Err(Status::InvalidArgument("returned " + std::to_string(keep.size()) +
                                             " flags for " + std::to_string(rows.size()) +
                                             " rows"));
        }
        BatchOutput out;
        for (size_t i = 0; i < rows.size(); ++i) {
          if (!keep[i]) continue;
          out.rows.push_back(std::move(rows[i]));
          out.from.push_back(i);
        }
        return out;
      },
      std::move(name));
}

PipelineBuilder& PipelineBuilder::FlatMapBatch(
    std::function<Result<std::vector<std::vector<Row>>>(std::vector<Row>, const BatchContext&)> fn,
    std::string name) {
  if (!fn) return TransformBatch(nullptr, std::move(name));
  return TransformBatch(
      [fn = std::move(fn)](std::vector<Row> rows, const BatchContext& ctx) -> Result<BatchOutput> {
        const size_t n = rows.size();
        ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::vector<Row>> lists, fn(std::move(rows), ctx));
        if (lists.size() != n) {
          return Err(Status::InvalidArgument("returned " + std::to_string(lists.size()) +
                                             " lists for " + std::to_string(n) + " rows"));
        }
        BatchOutput out;
        for (size_t i = 0; i < lists.size(); ++i) {
          for (Row& r : lists[i]) {
            out.rows.push_back(std::move(r));
            out.from.push_back(i);
          }
        }
        return out;
      },
      std::move(name));
}

PipelineBuilder& PipelineBuilder::KeyBy(std::vector<std::string> fields) {
  spec_->key_by = std::move(fields);
  return *this;
}

PipelineBuilder& PipelineBuilder::Reduce(std::function<Row(Row, const Row&)> fn) {
  spec_->reduce = std::move(fn);
  return *this;
}

PipelineBuilder& PipelineBuilder::Aggregate(
    std::vector<std::string> key, std::vector<std::pair<std::string, std::string>> aggregates,
    std::optional<WindowSpec> window, bool map_side_combine) {
  std::vector<AggregateOf> typed;
  for (auto& [name, function] : aggregates) {
    auto parsed = config::ParseAggregateFunction(function);
    if (!parsed.has_value()) {
      Fail(spec_.get(), parsed.error().WithContext("aggregate " + name));
      return *this;
    }
    typed.push_back({.name = name, .function = parsed->function, .field = parsed->field});
  }
  return Aggregate(std::move(key), std::move(typed), std::move(window), map_side_combine);
}

PipelineBuilder& PipelineBuilder::Aggregate(std::vector<std::string> key,
                                            std::vector<AggregateOf> aggregates,
                                            std::optional<WindowSpec> window,
                                            bool map_side_combine) {
  config::AggregateConfig config;
  config.key = std::move(key);
  config.combine = map_side_combine;
  for (AggregateOf& a : aggregates) {
    config.aggregates.push_back(
        {.name = std::move(a.name), .function = a.function, .field = std::move(a.field)});
  }
  if (window) {
    config.windowed = true;
    config.window.type = window->type;
    config.window.size_ms = window->size.count();
    config.window.slide_ms =
        window->type == WindowType::kTumbling ? window->size.count() : window->slide.count();
    config.window.time_field = window->time_field;
    config.window.allowed_lateness_ms = window->allowed_lateness.count();
    config.window.emit = window->emit;
    config.window.idle_timeout_ms = window->idle_timeout.count();
    config.window.emit_open_windows_at_end = window->emit_open_windows_at_end;
  }
  config::TransformConfig t;
  t.type = config::TransformConfig::Type::kAggregate;
  t.aggregate = std::move(config);
  spec_->config.transforms.push_back(std::move(t));
  return *this;
}

PipelineBuilder& PipelineBuilder::UpdateStateRows(
    std::vector<std::string> key_fields,
    std::function<std::vector<Row>(const Row&, std::optional<Row>&, std::span<const Row>,
                                   const BatchContext&)>
        fn,
    StateOptions options) {
  // The per-key step is the batch step calling fn key by key (one path for both).
  return UpdateStateBatch(std::move(key_fields),
                          fn ? operators::UpdateStateOperator::PerKey(std::move(fn)) : nullptr,
                          options);
}

PipelineBuilder& PipelineBuilder::UpdateStateBatch(
    std::vector<std::string> key_fields,
    std::function<Status(std::span<KeyedStateUpdate>, const BatchContext&)> fn,
    StateOptions options) {
  if (key_fields.empty()) Fail(spec_.get(), Status::InvalidArgument("update_state: no key fields"));
  if (!fn) Fail(spec_.get(), Status::InvalidArgument("update_state: no function"));
  if (options.timeout && options.timeout->count() < 1) {
    Fail(spec_.get(), Status::InvalidArgument("update_state: timeout must be at least 1 ms"));
  }
  if (spec_->keyed) Fail(spec_.get(), Status::InvalidArgument("only one stateful operator"));
  spec_->keyed = std::make_shared<operators::UpdateStateOperator>(std::move(key_fields),
                                                                  std::move(fn), options.timeout);
  return *this;
}

PipelineBuilder& PipelineBuilder::ForeachBatch(
    std::function<Status(const BatchContext&, std::span<const Row>)> fn) {
  spec_->foreach_batch = std::move(fn);
  return *this;
}

PipelineBuilder& PipelineBuilder::ToSqlite(SqliteSinkOptions options) {
  spec_->config.sink.options = std::move(options);
  spec_->has_sink = true;
  return *this;
}

PipelineBuilder& PipelineBuilder::ToPostgres(PostgresSinkOptions options) {
  spec_->config.sink.options = std::move(options);
  spec_->has_sink = true;
  return *this;
}

PipelineBuilder& PipelineBuilder::ToKafka(KafkaSinkOptions options) {
  spec_->config.sink.options = std::move(options);
  spec_->has_sink = true;
  return *this;
}

PipelineBuilder& PipelineBuilder::ToBlackhole(BlackholeSinkOptions options) {
  spec_->config.sink.options = options;
  spec_->has_sink = true;
  return *this;
}

PipelineBuilder& PipelineBuilder::BatchInterval(std::chrono::milliseconds interval) {
  spec_->config.batch_interval_ms = interval.count();
  return *this;
}
PipelineBuilder& PipelineBuilder::MaxRecordsPerPartition(int64_t n) {
  spec_->config.max_records_per_partition = n;
  return *this;
}
PipelineBuilder& PipelineBuilder::AdaptiveBatchSize(bool adaptive) {
  spec_->config.adaptive_batch_size = adaptive;
  return *this;
}
PipelineBuilder& PipelineBuilder::MaxTaskFailures(int n) {
  spec_->config.max_task_failures = n;
  return *this;
}
PipelineBuilder& PipelineBuilder::MaxBatchFailures(int n) {
  spec_->config.max_batch_failures = n;
  return *this;
}
PipelineBuilder& PipelineBuilder::Speculation(bool enabled, double multiplier,
                                              std::chrono::milliseconds min_runtime) {
  spec_->config.speculation = enabled;
  spec_->config.speculation_multiplier = multiplier;
  spec_->config.speculation_min_ms = min_runtime.count();
  return *this;
}
PipelineBuilder& PipelineBuilder::ExecutorThreads(int n) {
  spec_->config.executor_threads = n;
  return *this;
}
PipelineBuilder& PipelineBuilder::StateCacheMb(int64_t mib) {
  spec_->config.state_cache_mb = mib;
  return *this;
}
PipelineBuilder& PipelineBuilder::History(bool enabled, int64_t max_batches) {
  spec_->config.history.enabled = enabled;
  spec_->config.history.max_batches = max_batches;
  return *this;
}

PipelineBuilder& PipelineBuilder::StateTasks(int n) {
  spec_->config.state_tasks = n;
  return *this;
}

PipelineBuilder& PipelineBuilder::CommitMode(onceflow::CommitMode mode) {
  spec_->config.commit_mode = mode;
  return *this;
}

PipelineBuilder& PipelineBuilder::OnReplayMismatch(ReplayMismatch action) {
  spec_->config.on_replay_mismatch = action;
  return *this;
}

namespace {

// Makes the operators that `spec->config` describes: the aggregate (last, when there is one)
// becomes the stateful operator and every other transform the next empty transform stage.
// REQUIRES: spec->config passed config::Validate; one empty kTransform stage per non-aggregate
// transform, in order.
Status MakeOperators(PipelineSpec* spec) {
  std::vector<config::TransformConfig> row_transforms = spec->config.transforms;
  if (!row_transforms.empty() &&
      row_transforms.back().type == config::TransformConfig::Type::kAggregate) {
    if (spec->keyed) return Status::InvalidArgument("only one stateful operator");
    ONCEFLOW_ASSIGN_OR_RETURN(
        auto op, operators::AggregateOperator::Create(row_transforms.back().aggregate));
    spec->keyed = std::shared_ptr<const operators::KeyedOperator>(std::move(op));
    row_transforms.pop_back();
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto transforms, operators::MakeTransforms(row_transforms));
  size_t next = 0;
  for (Stage& s : spec->stages) {
    if (s.kind != Stage::Kind::kTransform || s.transform != nullptr) continue;
    s.transform = std::shared_ptr<const operators::RowTransform>(std::move(transforms.at(next++)));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Pipeline>> PipelineBuilder::Build() {
  if (!spec_->build_error.ok()) return Err(spec_->build_error);
  if (static_cast<bool>(spec_->reduce) != !spec_->key_by.empty()) {
    return Err(Status::InvalidArgument("key_by and reduce go together"));
  }
  const bool aggregate =
      !spec_->config.transforms.empty() &&
      spec_->config.transforms.back().type == config::TransformConfig::Type::kAggregate;
  if (spec_->reduce && (spec_->keyed || aggregate)) {
    return Err(Status::InvalidArgument(
        "reduce (per batch) and a stateful operator (aggregate, update_state) do not combine"));
  }
  if (!spec_->has_sink && !spec_->foreach_batch) {
    return Err(Status::InvalidArgument("a pipeline needs a sink or a foreach_batch"));
  }
  config::FillDefaults(&spec_->config);
  ONCEFLOW_RETURN_IF_ERROR(config::Validate(
      spec_->config, {.update_state = spec_->keyed != nullptr, .no_sink = !spec_->has_sink}));
  ONCEFLOW_RETURN_IF_ERROR(MakeOperators(spec_.get()));
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(spec_)));
}

Pipeline::Pipeline(std::unique_ptr<PipelineSpec> spec)
    : spec_(std::move(spec)), stats_(std::make_unique<StatsCell>()) {}

Pipeline::~Pipeline() = default;

Result<std::unique_ptr<Pipeline>> Pipeline::FromConfigFile(const std::string& path) {
  ONCEFLOW_ASSIGN_OR_RETURN(config::PipelineConfig config, config::LoadPipelineConfig(path));
  return internal::PipelineAccess::FromConfig(std::move(config));
}

Result<std::unique_ptr<Pipeline>> internal::PipelineAccess::FromConfig(
    config::PipelineConfig config) {
  auto spec = std::make_unique<PipelineSpec>();
  // One empty stage per row transform, in file order; MakeOperators fills them.
  for (const config::TransformConfig& t : config.transforms) {
    if (t.type == config::TransformConfig::Type::kAggregate) continue;
    Stage s;
    s.kind = Stage::Kind::kTransform;
    spec->stages.push_back(std::move(s));
  }
  spec->config = std::move(config);
  spec->has_sink = true;
  ONCEFLOW_RETURN_IF_ERROR(MakeOperators(spec.get()));
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(spec)));
}

Status Pipeline::Run(const RunOptions& options) {
  // A Stop() before Run() counts; afterwards the pipeline may run again.
  onceflow::Status s;
  engine::Outage disk_full(engine::DiskFullOutageMessages(), [&](const std::string& line) {
    if (options.on_log) return options.on_log(line);
    std::fprintf(stderr, "onceflow: %s: %s\n", spec_->config.name.c_str(), line.c_str());
  });
  for (;;) {
    {
      engine::Driver driver(*spec_, options, &stop_, stats_.get());
      s = driver.Run();
    }
    // A full disk is an outage, not damage: the driver (and every file it held) is closed, and
    // once a write succeeds again a new one recovers as after a crash — the batch in flight is
    // re-run with its recorded ranges, or planned afresh if its intent was never written. A
    // failed fdatasync is not retryable (its log is poisoned): that run ends here.
    if (!IsDiskFull(s) || !s.retryable() || stop_.load()) break;
    if (!disk_full.Wait(s, &stop_)) break;
  }
  stop_.store(false);
  return s;
}

void Pipeline::Stop() { stop_.store(true); }

PipelineStats Pipeline::stats() const { return stats_->Get(); }

const std::string& Pipeline::name() const { return spec_->config.name; }

}  // namespace onceflow
