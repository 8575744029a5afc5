// `onceflow reset PIPELINE.toml --yes`: the deliberate way to start a pipeline afresh — the
// remedy that the refusals of run, status and verify name (a source that changed or lost
// committed records, a damaged checkpoint, keyed state that cannot be rebuilt). It removes the
// pipeline's checkpoint (offsets and commits logs, epoch, source record and keyed state store)
// after the sink's progress rows of the pipeline are gone, so that the next run starts from
// `starting_offsets` and nothing remembers the old positions. The sink's output rows are not
// touched. Without --yes it only says what it would do.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "cli/pipeline_state.h"
#include "cli/pipeline_verifier.h"
#include "engine/pipeline_config.h"
#include "engine/sink_factory.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

// Removes the progress rows of `pipeline` from the sink, in one transaction (SQLite,
// PostgreSQL), or by a tombstone per task from the task's own transactional producer (Kafka).
Status DeleteSinkProgress(const engine::SinkConfig& config, const std::string& pipeline) {
  ASSIGN_OR_RETURN(auto sink, engine::MakeSink(config));
  RETURN_IF_ERROR(sink->Open());
  return sink->DeleteProgress(pipeline).WithContext("reset: delete the sink's progress rows of "
                                                    "pipeline '" + pipeline + "'");
}

}  // namespace

Status RunReset(const PipelineResetOptions& options) {
  ASSIGN_OR_RETURN(engine::PipelineConfig config, engine::LoadPipelineConfig(options.config_path));
  RETURN_IF_ERROR(RequireDataDir(options.data_dir));
  const std::string dir = checkpoint::CheckpointDir(options.data_dir, config.name);
  const std::string again = ResetCommand(options.config_path, options.data_dir);

  // What there is: the checkpoint (possibly damaged: a reset must work then too) and the
  // sink's progress rows.
  std::string checkpoint_text = "none";
  if (PathExists(dir)) {
    auto cp = ReadCheckpointState(options.data_dir, config.name);
    if (!cp.has_value()) {
      checkpoint_text = dir + " (unreadable: " + cp.error().ToString() + ")";
    } else if (!*cp || !(*cp)->last_intent) {
      checkpoint_text = dir + " (no batch)";
    } else {
      checkpoint_text = fmt::format("{} (last batch {}{}{})", dir, (*cp)->last_intent->batch.value(),
                                    (*cp)->unfinished ? ", unfinished" : "",
                                    PathExists(dir + "/state") ? ", with keyed state" : "");
    }
  }
  auto progress = ReadSinkProgress(config.sink, config.name);
  if (!progress.has_value()) {
    return progress.error().WithContext("reset: cannot read the sink's progress rows");
  }
  int64_t newest = -1;
  for (const auto& [task, row] : *progress) newest = std::max(newest, row.last_batch.value());

  fmt::print("reset: pipeline '{}'\n", config.name);
  fmt::print("  checkpoint     {}\n", checkpoint_text);
  fmt::print("  sink progress  {}\n",
             progress->empty() ? std::string("none")
                               : fmt::format("{} row(s), up to batch {}", progress->size(), newest));
  fmt::print("  after it, the next run starts from starting_offsets = {}; the sink's output rows "
             "are NOT touched (with 'earliest', records already in the sink are processed and "
             "written again)\n",
             config.source.starting_offsets == engine::StartingOffsets::kLatest ? "latest"
                                                                                : "earliest");
  std::fflush(stdout);
  if (!options.yes) {
    return Status::InvalidArgument("reset: nothing was changed; to do it, run '" + again + "'");
  }

  // A running pipeline holds the checkpoint's lock: it is never reset under it.
  int lock_fd = -1;
  if (PathExists(dir)) {
    const std::string lock_path = JoinPath(dir, "LOCK");
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) return ErrnoStatus("open", lock_path, errno);
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd);
      return Status::Busy("reset: pipeline '" + config.name + "' is running (its checkpoint " +
                          dir + " is locked): stop it first, then run '" + again + "'");
    }
  }
  auto unlock = [&] {
    if (lock_fd >= 0) ::close(lock_fd);
    lock_fd = -1;
  };
  if (!progress->empty()) {
    Status s = DeleteSinkProgress(config.sink, config.name);
    if (!s.ok()) {
      unlock();
      return s;
    }
  }
  if (PathExists(dir)) {
    // Renamed away first, so that a crash in the middle leaves no half checkpoint behind.
    const std::string gone = dir + ".reset-" + std::to_string(::getpid());
    std::error_code ec;
    std::filesystem::rename(dir, gone, ec);
    if (!ec) {
      RETURN_IF_ERROR(SyncDir(DirName(dir)));
      std::filesystem::remove_all(gone, ec);
    }
    unlock();
    if (ec) {
      return Status::IoError("reset: cannot remove the checkpoint " + dir + ": " + ec.message());
    }
  }
  unlock();
  fmt::print("reset: done: pipeline '{}' has no checkpoint{}; the next run starts afresh\n",
             config.name, progress->empty() ? "" : " and no progress row");
  return Status::Ok();
}

}  // namespace onceflow::cli
