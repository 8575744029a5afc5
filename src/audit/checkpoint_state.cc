// Reading a pipeline's checkpoint and source offsets read-only.
#include "audit/checkpoint_state.h"

#include <chrono>
#include <thread>

#include "checkpoint/checkpoint.h"
#include "log/topic.h"
#include "util/file.h"

namespace onceflow::audit {
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

}  // namespace onceflow::audit
