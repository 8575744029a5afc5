// Reading a pipeline's checkpoint and source offsets read-only.
#include "cli/pipeline_state.h"

#include <chrono>
#include <thread>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "engine/source_check.h"
#include "engine/source_factory.h"
#include "log/topic.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

// Reads of a running pipeline's checkpoint that may race its writer (see below).
constexpr int kOpenAttempts = 5;

}  // namespace

Result<std::optional<CheckpointState>> ReadCheckpointState(const std::string& data_dir,
                                                           const std::string& pipeline) {
  const std::string dir = checkpoint::CheckpointDir(data_dir, pipeline);
  if (!PathExists(dir)) return std::optional<CheckpointState>();
  // Checkpoint::Open creates the directory, then checkpoint.meta (atomically) before anything
  // else: a directory without it is a first run killed in between, and holds no batch.
  if (!PathExists(dir + "/checkpoint.meta")) return std::optional<CheckpointState>();
  // The pipeline may be running: retention can delete a segment of its checkpoint logs while
  // this opens them. A few fresh attempts tell such a race from real damage, which persists.
  auto cp = checkpoint::Checkpoint::OpenReadOnly(dir);
  for (int attempt = 1; !cp.has_value() && attempt < kOpenAttempts; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt));
    cp = checkpoint::Checkpoint::OpenReadOnly(dir);
  }
  if (!cp.has_value()) return Err(cp.error());
  CheckpointState state;
  state.dir = dir;
  state.epoch = (*cp)->epoch();
  state.last_intent = (*cp)->last_intent();
  state.last_commit = (*cp)->last_commit();
  state.unfinished = (*cp)->has_unfinished_batch();
  state.source = (*cp)->source();
  state.marks = (*cp)->marks();
  if (state.last_intent) {
    for (const OffsetRange& r : state.last_intent->ranges) {
      const auto p = static_cast<size_t>(r.partition.value());
      if (state.committed.size() <= p) state.committed.resize(p + 1, Offset(-1));
      state.committed[p] = state.unfinished ? r.from : r.until;
    }
  }
  return std::optional<CheckpointState>(std::move(state));
}

Result<std::vector<SourcePartition>> ReadSourceOffsets(const std::string& data_dir,
                                                       const std::string& topic) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto t, log::Topic::Open(data_dir, topic, /*read_only=*/true));
  std::vector<SourcePartition> out;
  for (int32_t p = 0; p < t->partition_count(); ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, t->partition(PartitionId(p)));
    ONCEFLOW_RETURN_IF_ERROR(log->Refresh());
    out.push_back({log->earliest_offset(), log->end_offset()});
  }
  return out;
}

Result<OpenedSource> OpenPipelineSource(const config::PipelineConfig& config,
                                        const std::string& data_dir) {
  config::PipelineConfig look = config;
  // A look must not take partitions from the running group.
  if (auto* kafka = std::get_if<KafkaSourceOptions>(&look.source.options)) {
    kafka->assign = KafkaAssignment::kAll;
  }
  OpenedSource out;
  ONCEFLOW_ASSIGN_OR_RETURN(out.source, engine::MakeSource(look, data_dir));
  ONCEFLOW_ASSIGN_OR_RETURN(out.bounds, out.source->OffsetBounds());
  for (size_t p = 0; p < out.bounds.end.size(); ++p) {
    out.partitions.push_back(
        {p < out.bounds.earliest.size() ? out.bounds.earliest[p] : Offset(0), out.bounds.end[p]});
  }
  return out;
}

Status CheckPipelineSource(const config::PipelineConfig& config, const CheckpointState& cp,
                           OpenedSource* source, const std::string& config_path,
                           const std::string& data_dir) {
  if (!cp.last_intent) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(source::SourceIdentity identity, source->source->Identity());
  ONCEFLOW_RETURN_IF_ERROR(engine::CheckSourceIdentity(config.name, cp.source, identity,
                                              ResetAdvice(config_path, data_dir)));
  return engine::CheckSourceHoldsCommitted(source->source.get(), source->bounds,
                                           engine::ReadUpTo(cp.last_intent), cp.marks,
                                           LossAdvice(config_path, data_dir));
}

std::string ResetCommand(const std::string& config_path, const std::string& data_dir) {
  std::string cmd = "onceflow reset " + config_path;
  if (data_dir != kDefaultDataDir) cmd += " --data " + data_dir;
  return cmd + " --yes";
}

std::string ResetAdvice(const std::string& config_path, const std::string& data_dir) {
  return "To start it afresh from its starting_offsets (its sink's output rows stay), run '" +
         ResetCommand(config_path, data_dir) + "'";
}

std::string LossAdvice(const std::string& config_path, const std::string& data_dir) {
  std::string accept = ResetCommand(config_path, data_dir);
  accept.insert(accept.size() - 6, " --accept-loss");
  return engine::LossWayOut(accept, ResetCommand(config_path, data_dir));
}

Status RequireDataDir(const std::string& data_dir) {
  // The default directory is where a first `topics create` makes one: before that it is
  // simply empty. A directory the user named must exist (a typo must not read as "nothing").
  if (data_dir == kDefaultDataDir || PathExists(data_dir)) return Status::Ok();
  return Status::NotFound("data directory " + data_dir +
                          " does not exist (give the right one with --data DIR or "
                          "$ONCEFLOW_DATA)");
}

}  // namespace onceflow::cli
