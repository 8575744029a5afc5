// PipelineConfig parsing: a TOML file (toml++) checked key by key into a PipelineConfig. toml++
// reports syntax errors by throwing toml::parse_error; this file is the boundary where that
// exception becomes an invalid_argument Status.
#include "config/pipeline_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <limits>

#include "config/config_checker.h"
#include "config/one_line.h"
#include "config/validator.h"
#include "util/file.h"

namespace onceflow::config {

std::string_view SourceConfig::type() const {
  switch (options.index()) {
    case 0: return "log";
    case 1: return "kafka";
    default: return "nexmark";
  }
}

const std::string& SourceConfig::topic() const {
  static const std::string kNone;
  if (nexmark() != nullptr) return kNone;
  return kafka() != nullptr ? kafka()->topic : std::get<LogSourceOptions>(options).topic;
}

const RecordOptions& SourceConfig::records() const {
  return std::visit([](const auto& o) -> const RecordOptions& { return o.records; }, options);
}

RecordOptions& SourceConfig::records() {
  return std::visit([](auto& o) -> RecordOptions& { return o.records; }, options);
}

bool SourceConfig::group_assigned() const {
  const KafkaSourceOptions* k = kafka();
  return k != nullptr && k->assign == KafkaAssignment::kGroup;
}

void FillDefaults(PipelineConfig* config) {
  if (auto* kafka = std::get_if<KafkaSourceOptions>(&config->source.options);
      kafka != nullptr && kafka->group.empty()) {
    kafka->group = "onceflow-" + config->name;
  }
}

std::string_view SinkConfig::type() const {
  switch (options.index()) {
    case 0: return "sqlite";
    case 1: return "postgres";
    case 2: return "kafka";
    default: return "blackhole";
  }
}

Result<PipelineConfig> ConfigChecker::Check(const toml::table& root) {
  static constexpr std::string_view kKeys[] = {"name",
                                               "batch_interval_ms",
                                               "max_records_per_partition",
                                               "batch_sizing",
                                               "max_task_failures",
                                               "max_batch_failures",
                                               "speculation",
                                               "speculation_multiplier",
                                               "speculation_min_ms",
                                               "executor_threads",
                                               "commit_mode",
                                               "on_replay_mismatch",
                                               "state_tasks",
                                               "state_cache_mb",
                                               "history",
                                               "source",
                                               "transform",
                                               "sink"};
  ONCEFLOW_RETURN_IF_ERROR(CheckKeys(root, "", kKeys));
  PipelineConfig config;
  config.file = file_;
  Entry name = At(root, "", "name");
  ONCEFLOW_RETURN_IF_ERROR(Required(name));
  ONCEFLOW_RETURN_IF_ERROR(ReadString(name, &config.name));
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  int64_t max_task_failures = config.max_task_failures;
  int64_t max_batch_failures = config.max_batch_failures;
  int64_t executor_threads = config.executor_threads;
  int64_t state_tasks = config.state_tasks;
  ONCEFLOW_RETURN_IF_ERROR(
      ReadInt(At(root, "", "batch_interval_ms"), 0, 3600000, &config.batch_interval_ms));
  ONCEFLOW_RETURN_IF_ERROR(ReadInt(At(root, "", "max_records_per_partition"), 1,
                                   std::numeric_limits<int64_t>::max(),
                                   &config.max_records_per_partition));
  static constexpr Choice<bool> kBatchSizings[] = {{"adaptive", true}, {"fixed", false}};
  ONCEFLOW_RETURN_IF_ERROR(
      ReadChoice<bool>(At(root, "", "batch_sizing"), kBatchSizings, &config.adaptive_batch_size));
  ONCEFLOW_RETURN_IF_ERROR(
      ReadInt(At(root, "", "max_task_failures"), 1, kInt32Max, &max_task_failures));
  ONCEFLOW_RETURN_IF_ERROR(
      ReadInt(At(root, "", "max_batch_failures"), 1, kInt32Max, &max_batch_failures));
  ONCEFLOW_RETURN_IF_ERROR(ReadBool(At(root, "", "speculation"), &config.speculation));
  ONCEFLOW_RETURN_IF_ERROR(
      ReadDouble(At(root, "", "speculation_multiplier"), 1.0, &config.speculation_multiplier));
  ONCEFLOW_RETURN_IF_ERROR(
      ReadInt(At(root, "", "speculation_min_ms"), 0, 86400000, &config.speculation_min_ms));
  ONCEFLOW_RETURN_IF_ERROR(ReadInt(At(root, "", "executor_threads"), 0, 1024, &executor_threads));
  static constexpr Choice<CommitMode> kCommitModes[] = {{"batch", CommitMode::kBatch},
                                                        {"task", CommitMode::kTask}};
  ONCEFLOW_RETURN_IF_ERROR(
      ReadChoice<CommitMode>(At(root, "", "commit_mode"), kCommitModes, &config.commit_mode));
  static constexpr Choice<ReplayMismatch> kReplayMismatches[] = {{"warn", ReplayMismatch::kWarn},
                                                                 {"fail", ReplayMismatch::kFail},
                                                                 {"off", ReplayMismatch::kOff}};
  ONCEFLOW_RETURN_IF_ERROR(ReadChoice<ReplayMismatch>(
      At(root, "", "on_replay_mismatch"), kReplayMismatches, &config.on_replay_mismatch));
  ONCEFLOW_RETURN_IF_ERROR(ReadInt(At(root, "", "state_tasks"), 1, 1024, &state_tasks));
  config.state_tasks = static_cast<int32_t>(state_tasks);
  ONCEFLOW_RETURN_IF_ERROR(
      ReadInt(At(root, "", "state_cache_mb"), 0, 1 << 20, &config.state_cache_mb));
  config.max_task_failures = static_cast<int32_t>(max_task_failures);
  config.max_batch_failures = static_cast<int32_t>(max_batch_failures);
  config.executor_threads = static_cast<int32_t>(executor_threads);

  Entry history = At(root, "", "history");
  if (history.node != nullptr) {
    const toml::table* table = history.node->as_table();
    if (table == nullptr) {
      return Err(
          Error(history.key, "expected a table ([history]), got " + Describe(*history.node)));
    }
    static constexpr std::string_view kHistoryKeys[] = {"enabled", "max_batches"};
    ONCEFLOW_RETURN_IF_ERROR(CheckKeys(*table, "history", kHistoryKeys));
    ONCEFLOW_RETURN_IF_ERROR(ReadBool(At(*table, "history", "enabled"), &config.history.enabled));
    ONCEFLOW_RETURN_IF_ERROR(ReadInt(At(*table, "history", "max_batches"), 1, kMaxHistoryBatches,
                                     &config.history.max_batches));
  }

  Entry source = At(root, "", "source");
  if (source.node == nullptr) return Err(Error(source.key, "required (a [source] table)"));
  if (!source.node->is_table()) {
    return Err(Error(source.key, "expected a table ([source]), got " + Describe(*source.node)));
  }
  ONCEFLOW_RETURN_IF_ERROR(CheckSource(*source.node->as_table(), &config.source));
  FillDefaults(&config);

  Entry transforms = At(root, "", "transform");
  if (transforms.node != nullptr) {
    const toml::array* array = transforms.node->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
      return Err(Error(transforms.key, "expected an array of tables ([[transform]]), got " +
                                           Describe(*transforms.node)));
    }
    for (size_t i = 0; i < array->size(); ++i) {
      TransformConfig transform;
      const std::string prefix = transforms.key + "[" + std::to_string(i) + "]";
      ONCEFLOW_RETURN_IF_ERROR(CheckTransform(*(*array)[i].as_table(), prefix, &transform));
      if (transform.type == TransformConfig::Type::kAggregate && i + 1 != array->size()) {
        return Err(Error(prefix + ".type", "an aggregate must be the last transform (its output "
                                           "rows go to the sink)"));
      }
      config.transforms.push_back(std::move(transform));
    }
  }

  Entry sink = At(root, "", "sink");
  if (sink.node == nullptr) return Err(Error(sink.key, "required (a [sink] table)"));
  if (!sink.node->is_table()) {
    return Err(Error(sink.key, "expected a table ([sink]), got " + Describe(*sink.node)));
  }
  ONCEFLOW_RETURN_IF_ERROR(CheckSink(*sink.node->as_table(), &config.sink));
  // Everything else (values, and settings that do not go together) is the validator's, shared
  // with PipelineBuilder.
  ONCEFLOW_RETURN_IF_ERROR(Validate(config));
  return config;
}

Result<PipelineConfig> LoadPipelineConfig(const std::string& path) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParsePipelineConfig(text, path);
}

Result<PipelineConfig> ParsePipelineConfig(std::string_view toml, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(toml, path);
  } catch (const toml::parse_error& e) {
    const toml::source_position& at = e.source().begin;
    return Err(Status::InvalidArgument((path.empty() ? "pipeline config" : path) + ":" +
                                       std::to_string(at.line) + ":" + std::to_string(at.column) +
                                       ": " + OneLine(e.description())));
  }
  return ConfigChecker(path).Check(root);
}

}  // namespace onceflow::config
