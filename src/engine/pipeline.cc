// The public pipeline API: builder, config loading, Run.
#include "onceflow/pipeline.h"

#include "config/aggregate_function.h"
#include "config/condition.h"
#include "operators/aggregate_operator.h"
#include "engine/driver.h"
#include "operators/update_state_operator.h"
#include "engine/pipeline_spec.h"
#include "operators/transforms.h"

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

PipelineBuilder& PipelineBuilder::FromLog(std::string topic, std::string format,
                                          std::string starting_offsets) {
  auto& src = spec_->config.source;
  src.type = "log";
  src.topic = std::move(topic);
  if (format == "json") {
    src.format = config::RecordFormat::kJson;
  } else if (format == "csv") {
    src.format = config::RecordFormat::kCsv;
  } else if (format == "raw") {
    src.format = config::RecordFormat::kRaw;
  } else {
    Fail(spec_.get(), Status::InvalidArgument("source.format: expected json, csv or raw, got '" +
                                              format + "'"));
  }
  if (starting_offsets == "earliest") {
    src.starting_offsets = config::StartingOffsets::kEarliest;
  } else if (starting_offsets == "latest") {
    src.starting_offsets = config::StartingOffsets::kLatest;
  } else {
    Fail(spec_.get(), Status::InvalidArgument(
                          "source.starting_offsets: expected earliest or latest, got '" +
                          starting_offsets + "'"));
  }
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
  config::AggregateConfig config;
  config.key = std::move(key);
  config.combine = map_side_combine;
  for (auto& [name, function] : aggregates) {
    auto parsed = config::ParseAggregateFunction(function);
    if (!parsed.has_value()) {
      Fail(spec_.get(), parsed.error().WithContext("aggregate " + name));
      return *this;
    }
    parsed->name = name;
    config.aggregates.push_back(std::move(*parsed));
  }
  if (window) {
    using W = config::AggregateConfig::Window;
    config.windowed = true;
    if (window->type != "tumbling" && window->type != "sliding") {
      Fail(spec_.get(), Status::InvalidArgument("window type: expected tumbling or sliding, got '" +
                                                window->type + "'"));
    }
    if (window->emit != "update" && window->emit != "final") {
      Fail(spec_.get(), Status::InvalidArgument("window emit: expected update or final, got '" +
                                                window->emit + "'"));
    }
    config.window.type = window->type == "sliding" ? W::Type::kSliding : W::Type::kTumbling;
    config.window.size_ms = window->size.count();
    config.window.slide_ms = window->slide.count();
    config.window.time_field = window->time_field;
    config.window.allowed_lateness_ms = window->allowed_lateness.count();
    config.window.emit = window->emit == "final" ? W::Emit::kFinal : W::Emit::kUpdate;
    config.window.idle_timeout_ms = window->idle_timeout.count();
    config.window.emit_open_windows_at_end = window->emit_open_windows_at_end;
  }
  auto op = operators::AggregateOperator::Create(std::move(config));
  if (!op.has_value()) {
    Fail(spec_.get(), op.error());
    return *this;
  }
  if (spec_->keyed) Fail(spec_.get(), Status::InvalidArgument("only one stateful operator"));
  spec_->keyed = std::shared_ptr<const operators::KeyedOperator>(std::move(*op));
  return *this;
}

PipelineBuilder& PipelineBuilder::UpdateStateRows(
    std::vector<std::string> key_fields,
    std::function<std::vector<Row>(const Row&, std::optional<Row>&, std::span<const Row>,
                                   const BatchContext&)>
        fn,
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

PipelineBuilder& PipelineBuilder::ToSqlite(SqliteSinkSpec s) {
  auto& sink = spec_->config.sink;
  sink.type = "sqlite";
  sink.path = std::move(s.path);
  sink.init = std::move(s.init);
  sink.table = std::move(s.table);
  sink.key = std::move(s.key);
  sink.statements = std::move(s.statements);
  if (s.mode == "append") {
    sink.mode = config::SinkMode::kAppend;
  } else if (s.mode == "upsert") {
    sink.mode = config::SinkMode::kUpsert;
  } else if (s.mode == "statements") {
    sink.mode = config::SinkMode::kStatements;
  } else {
    Fail(spec_.get(), Status::InvalidArgument(
                          "sink.mode: expected append, upsert or statements, got '" + s.mode + "'"));
  }
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
  if (mib < 0 || mib > (int64_t{1} << 20)) {
    Fail(spec_.get(), Status::InvalidArgument("state cache: expected 0 .. 1048576 MiB, got " +
                                              std::to_string(mib)));
  }
  spec_->config.state_cache_mb = mib;
  return *this;
}

PipelineBuilder& PipelineBuilder::CommitMode(std::string mode) {
  if (mode == "batch") {
    spec_->config.commit_mode = config::CommitMode::kBatch;
  } else if (mode == "task") {
    spec_->config.commit_mode = config::CommitMode::kTask;
  } else {
    Fail(spec_.get(),
         Status::InvalidArgument("commit mode: expected batch or task, got '" + mode + "'"));
  }
  return *this;
}

Result<std::unique_ptr<Pipeline>> PipelineBuilder::Build() {
  if (!spec_->build_error.ok()) return Err(spec_->build_error);
  const auto& c = spec_->config;
  if (c.name.empty()) return Err(Status::InvalidArgument("name: required"));
  if (c.source.topic.empty()) return Err(Status::InvalidArgument("source.topic: required"));
  if (c.batch_interval_ms < 1) {
    return Err(Status::InvalidArgument("batch interval: must be at least 1 ms"));
  }
  if (c.max_records_per_partition < 1) {
    return Err(Status::InvalidArgument("max_records_per_partition: must be at least 1"));
  }
  if (c.max_task_failures < 1 || c.max_batch_failures < 1) {
    return Err(Status::InvalidArgument("max_task_failures and max_batch_failures: at least 1"));
  }
  if (static_cast<bool>(spec_->reduce) != !spec_->key_by.empty()) {
    return Err(Status::InvalidArgument("key_by and reduce go together"));
  }
  if (spec_->reduce && spec_->keyed) {
    return Err(Status::InvalidArgument(
        "reduce (per batch) and a stateful operator (aggregate, update_state) do not combine"));
  }
  if (spec_->keyed && spec_->config.commit_mode == config::CommitMode::kTask) {
    return Err(Status::InvalidArgument(
        "commit mode task: a stateful pipeline commits each batch as one task"));
  }
  if (!spec_->has_sink && !spec_->foreach_batch) {
    return Err(Status::InvalidArgument("a pipeline needs a sink or a foreach_batch"));
  }
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(spec_)));
}

Pipeline::Pipeline(std::unique_ptr<PipelineSpec> spec)
    : spec_(std::move(spec)), stats_(std::make_unique<StatsCell>()) {}

Pipeline::~Pipeline() = default;

Result<std::unique_ptr<Pipeline>> Pipeline::FromConfigFile(const std::string& path) {
  ONCEFLOW_ASSIGN_OR_RETURN(config::PipelineConfig config, config::LoadPipelineConfig(path));
  auto spec = std::make_unique<PipelineSpec>();
  // An aggregate (the checker allows it last only) is the stateful operator, not a stage.
  std::vector<config::TransformConfig> row_transforms = config.transforms;
  if (!row_transforms.empty() &&
      row_transforms.back().type == config::TransformConfig::Type::kAggregate) {
    ONCEFLOW_ASSIGN_OR_RETURN(
        auto op, operators::AggregateOperator::Create(row_transforms.back().aggregate));
    spec->keyed = std::shared_ptr<const operators::KeyedOperator>(std::move(op));
    row_transforms.pop_back();
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto transforms, operators::MakeTransforms(row_transforms));
  for (auto& t : transforms) {
    Stage s;
    s.kind = Stage::Kind::kTransform;
    s.transform = std::shared_ptr<const operators::RowTransform>(std::move(t));
    spec->stages.push_back(std::move(s));
  }
  spec->config = std::move(config);
  spec->has_sink = true;
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(spec)));
}

Status Pipeline::Run(const RunOptions& options) {
  // A Stop() before Run() counts; afterwards the pipeline may run again.
  Status s;
  {
    engine::Driver driver(*spec_, options, &stop_, stats_.get());
    s = driver.Run();
  }
  stop_.store(false);
  return s;
}

void Pipeline::Stop() { stop_.store(true); }

PipelineStats Pipeline::stats() const { return stats_->Get(); }

const std::string& Pipeline::name() const { return spec_->config.name; }

}  // namespace onceflow
