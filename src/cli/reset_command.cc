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
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "audit/checkpoint_state.h"
#include "audit/pipeline_source.h"
#include "audit/pipeline_verifier.h"
#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "config/pipeline_config.h"
#include "engine/sink_factory.h"
#include "engine/source_check.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

// Removes the progress rows of `pipeline` from the sink, in one transaction (SQLite,
// PostgreSQL), or by a tombstone per task from the task's own transactional producer (Kafka).
Status DeleteSinkProgress(const config::SinkConfig& config, const std::string& pipeline,
                          const std::string& checkpoint_dir) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto sink, engine::MakeSink(config, checkpoint_dir));
  ONCEFLOW_RETURN_IF_ERROR(sink->Open());
  return sink->DeleteProgress(pipeline).WithContext("reset: delete the sink's progress rows of "
                                                    "pipeline '" +
                                                    pipeline + "'");
}

// With --accept-loss: where each partition continues (its committed offset, or the source's end
// where the source now ends before it), and one line per partition whose records are given up.
struct AcceptPlan {
  source::SourceIdentity identity;
  std::vector<Offset> positions;  // -1: not read yet (starts where starting_offsets says)
  std::vector<std::string> lost;  // "partition 2: offsets [1000, 1200) lost"
  audit::OpenedSource source;
};

Result<AcceptPlan> PlanAcceptLoss(const config::PipelineConfig& config, const std::string& data_dir,
                                  const std::string& again) {
  const std::string plain = again;  // the reset without --accept-loss
  auto read = audit::ReadCheckpointState(data_dir, config.name);
  if (!read.has_value() || !*read || !(*read)->last_intent) {
    return Err(
        Status::InvalidArgument("reset --accept-loss: pipeline '" + config.name +
                                "' has no readable checkpoint with a "
                                "batch to continue from" +
                                (read.has_value() ? "" : " (" + read.error().ToString() + ")") +
                                "; start it afresh with '" + plain + "'"));
  }
  const audit::CheckpointState& cp = **read;
  if (PathExists(cp.dir + "/state")) {
    return Err(Status::InvalidArgument("reset --accept-loss: pipeline '" + config.name +
                                       "' has keyed state, which cannot skip "
                                       "records; start it afresh with '" +
                                       plain +
                                       "' (its state is rebuilt from "
                                       "starting_offsets), or give it a new name"));
  }
  AcceptPlan plan;
  ONCEFLOW_ASSIGN_OR_RETURN(plan.source, audit::OpenPipelineSource(config, data_dir));
  ONCEFLOW_ASSIGN_OR_RETURN(plan.identity, plan.source.source->Identity());
  if (Status same = engine::CheckSourceIdentity(config.name, cp.source, plan.identity, "");
      !same.ok()) {
    return Err(Status::InvalidArgument("reset --accept-loss: " + same.message() +
                                       "; its offsets cannot be carried over: start "
                                       "it afresh with '" +
                                       plain + "'"));
  }
  const std::vector<Offset> read_up_to = engine::ReadUpTo(cp.last_intent);
  const std::vector<Offset>& end = plan.source.bounds.end;
  plan.positions.assign(cp.committed.begin(), cp.committed.end());
  for (size_t p = 0; p < plan.positions.size(); ++p) {
    if (plan.positions[p].value() < 0) continue;
    const Offset have = p < end.size() ? end[p] : Offset(0);
    const Offset up_to =
        std::max(plan.positions[p], p < read_up_to.size() ? read_up_to[p] : Offset(-1));
    if (have < up_to) {
      plan.lost.push_back(fmt::format("partition {}: offsets [{}, {}) lost, continuing at {}", p,
                                      have.value(), up_to.value(), have.value()));
    }
    plan.positions[p] = std::min(plan.positions[p], have);
  }
  // A record rewritten at a committed offset (the source as long as before, other records)
  // is given up too: the pipeline continues after it.
  for (const checkpoint::PartitionMark& m : cp.marks) {
    const auto p = static_cast<size_t>(m.partition.value());
    if (p >= plan.positions.size() || p >= end.size() || m.offset >= end[p]) continue;
    const std::vector<checkpoint::PartitionMark> one = {m};
    Status s = engine::CheckSourceHoldsCommitted(plan.source.source.get(), plan.source.bounds, {},
                                                 one, "");
    if (!s.ok()) {
      plan.lost.push_back(fmt::format("partition {}: the committed records up to offset {} were "
                                      "rewritten, continuing at {}",
                                      p, m.offset.value() + 1, plan.positions[p].value()));
    }
  }
  return plan;
}

// Writes the new checkpoint of an accepted loss: source.meta (the source, its partitions'
// starts at the positions, and what was accepted), then an intent with an empty range at each
// position and its commit (with the marks of the records before them), so that run resumes
// there and status and verify agree at once.
Status WriteAcceptedCheckpoint(const std::string& dir, AcceptPlan* plan) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto cp, checkpoint::Checkpoint::Open(dir));
  checkpoint::SourceRecord record = engine::SourceRecordOf(plan->identity);
  record.starts = plan->positions;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (const std::string& line : plan->lost) {
    record.accepted.push_back(
        fmt::format("unix time {}: onceflow reset --accept-loss: {}", now, line));
  }
  ONCEFLOW_RETURN_IF_ERROR(cp->WriteSource(record));
  checkpoint::BatchIntent intent;
  intent.batch = BatchId(0);
  intent.batch_time_ms = now * 1000;
  for (size_t p = 0; p < plan->positions.size(); ++p) {
    if (plan->positions[p].value() < 0) continue;
    intent.ranges.push_back(
        {PartitionId(static_cast<int32_t>(p)), plan->positions[p], plan->positions[p]});
  }
  ONCEFLOW_ASSIGN_OR_RETURN(
      auto marks, engine::MarksAt(plan->source.source.get(), plan->source.bounds, plan->positions));
  ONCEFLOW_RETURN_IF_ERROR(cp->WriteIntent(intent));
  return cp->WriteCommit(intent.batch, marks);
}

}  // namespace

Status RunReset(const PipelineResetOptions& options) {
  ONCEFLOW_ASSIGN_OR_RETURN(config::PipelineConfig config,
                            config::LoadPipelineConfig(options.config_path));
  ONCEFLOW_RETURN_IF_ERROR(RequireDataDir(options.data_dir));
  const std::string dir = checkpoint::CheckpointDir(options.data_dir, config.name);
  const std::string again = ResetCommand(options.config_path, options.data_dir);

  // What there is: the checkpoint (possibly damaged: a reset must work then too) and the
  // sink's progress rows.
  std::string checkpoint_text = "none";
  if (PathExists(dir)) {
    auto cp = audit::ReadCheckpointState(options.data_dir, config.name);
    if (!cp.has_value()) {
      checkpoint_text = dir + " (unreadable: " + cp.error().ToString() + ")";
    } else if (!*cp || !(*cp)->last_intent) {
      checkpoint_text = dir + " (no batch)";
    } else {
      checkpoint_text =
          fmt::format("{} (last batch {}{}{})", dir, (*cp)->last_intent->batch.value(),
                      (*cp)->unfinished ? ", unfinished" : "",
                      PathExists(dir + "/state") ? ", with keyed state" : "");
    }
  }
  auto progress = audit::ReadSinkProgress(config.sink, config.name, options.data_dir);
  if (!progress.has_value()) {
    return progress.error().WithContext("reset: cannot read the sink's progress rows");
  }
  int64_t newest = -1;
  for (const auto& [task, row] : *progress) newest = std::max(newest, row.last_batch.value());

  fmt::print("reset: pipeline '{}'\n", config.name);
  fmt::print("  checkpoint     {}\n", checkpoint_text);
  fmt::print("  sink progress  {}\n", progress->empty() ? std::string("none")
                                                        : fmt::format("{} row(s), up to batch {}",
                                                                      progress->size(), newest));
  std::optional<AcceptPlan> accept;
  const std::string command =
      options.accept_loss ? again.substr(0, again.size() - 6) + " --accept-loss --yes" : again;
  if (options.accept_loss) {
    ONCEFLOW_ASSIGN_OR_RETURN(accept, PlanAcceptLoss(config, options.data_dir, again));
    fmt::print("  after it, the next run continues where the pipeline was, giving up what the "
               "source lost:\n");
    if (accept->lost.empty()) fmt::print("    nothing: the source holds every committed record\n");
    for (const std::string& line : accept->lost) fmt::print("    {}\n", line);
    fmt::print("  (recorded in the new checkpoint's source.meta); the sink's output rows are NOT "
               "touched\n");
  } else {
    fmt::print("  after it, the next run starts from starting_offsets = {}; the sink's output "
               "rows are NOT touched (with 'earliest', records already in the sink are processed "
               "and written again)\n",
               config.source.records().starting_offsets == config::StartingOffsets::kLatest
                   ? "latest"
                   : "earliest");
  }
  std::fflush(stdout);
  if (!options.yes) {
    return Status::InvalidArgument("reset: nothing was changed; to do it, run '" + command + "'");
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
    Status s = DeleteSinkProgress(config.sink, config.name, dir);
    if (!s.ok()) {
      unlock();
      return s;
    }
  }
  // With --accept-loss, the new checkpoint is written beside the old one first and swapped in
  // atomically (RENAME_EXCHANGE): a crash leaves the old checkpoint (run reset again) or the
  // new one, never none, which would make the next run start from starting_offsets.
  const std::string pid = std::to_string(::getpid());
  const std::string fresh = dir + ".accept-" + pid;
  if (accept) {
    RemoveAll(fresh).IgnoreError();  // a leftover of an earlier attempt of this pid, if any
    if (Status s = WriteAcceptedCheckpoint(fresh, &*accept); !s.ok()) {
      unlock();
      RemoveAll(fresh).IgnoreError();  // best effort: the old checkpoint is untouched
      return s.WithContext("reset: cannot write the new checkpoint " + fresh);
    }
    ONCEFLOW_RETURN_IF_ERROR(SyncDir(DirName(dir)));
  }
  const std::string gone = dir + ".reset-" + pid;
  // Renames through the file layer (util/file.h): a power loss or an injected I/O error sees
  // them. The exchange itself has no such helper; the directory fsync after it makes it durable.
  Status renamed;
  if (PathExists(dir)) {
    if (accept) {
      if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
        const int err = errno;
        unlock();
        RemoveAll(fresh).IgnoreError();
        return ErrnoStatus("reset: exchange the checkpoint with the new one", dir, err);
      }
      renamed = RenameFile(fresh, gone);  // `fresh` now names the old checkpoint
    } else {
      // Renamed away first, so that a crash in the middle leaves no half checkpoint behind.
      renamed = RenameFile(dir, gone);
    }
  } else if (accept) {
    renamed = RenameFile(fresh, dir);
  }
  if (renamed.ok()) {
    ONCEFLOW_RETURN_IF_ERROR(SyncDir(DirName(dir)));
    renamed = RemoveAll(gone);
  }
  unlock();
  if (!renamed.ok()) return renamed.WithContext("reset: cannot replace the checkpoint " + dir);
  if (accept) {
    fmt::print("reset: done: pipeline '{}' continues at the positions above ({} loss(es) "
               "accepted and recorded in {}/source.meta)\n",
               config.name, accept->lost.size(), dir);
    return Status::Ok();
  }
  fmt::print("reset: done: pipeline '{}' has no checkpoint{}; the next run starts afresh\n",
             config.name, progress->empty() ? "" : " and no progress row");
  return Status::Ok();
}

}  // namespace onceflow::cli
