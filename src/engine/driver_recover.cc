// The driver's start: recovery from the checkpoint, the sink's progress rows and the state
// store (docs/protocol.md "Recovery"), the refusals that name a way out, and csv headers.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/field_check.h"
#include "engine/driver.h"
#include "engine/source_check.h"

namespace onceflow::engine {

Status Driver::EnsureHeaders(const std::vector<OffsetRange>& ranges) {
  if (!decoder_->needs_header()) return Status::Ok();
  for (const OffsetRange& range : ranges) {
    const auto index = static_cast<size_t>(range.partition.value());
    // A partition with nothing to read yet may have no header yet either.
    if (range.from == range.until) continue;
    if (index < header_set_.size() && header_set_[index]) continue;
    const PartitionId p = range.partition;
    std::string header;
    bool found = false;
    Status s = source_->Read(p, Offset(0), Offset(1), [&](Offset, const RecordView& r) {
      header.assign(r.value);
      found = true;
      return Status::Ok();
    });
    if (!s.ok() || !found) {
      return Status::InvalidArgument(
          "source.csv_columns: not set, and the header line of partition " + p.ToString() +
          " (its record at offset 0) cannot be read: " + s.ToString());
    }
    const bool first = decoder_->HeaderColumns().empty();
    ONCEFLOW_RETURN_IF_ERROR(decoder_->SetHeader(p, header));
    if (first) {
      const std::string from = "the csv header line of partition " + p.ToString();
      Status fields =
          config::CheckFieldsExist(spec_.config.transforms, decoder_->HeaderColumns(), from);
      if (!fields.ok()) {
        return Status::InvalidArgument(
            (spec_.config.file.empty() ? spec_.config.name : spec_.config.file) + ": " +
            fields.message());
      }
    }
    if (header_set_.size() <= index) header_set_.resize(index + 1, false);
    header_set_[index] = true;
  }
  return Status::Ok();
}

Status Driver::CheckSource() {
  const config::PipelineConfig& c = spec_.config;
  ONCEFLOW_ASSIGN_OR_RETURN(source::SourceIdentity identity, source_->Identity());
  source_identity_ = identity.ToString();
  const auto& intent = checkpoint_->last_intent();
  // Before the first batch nothing is committed: a source changed by then is simply recorded.
  if (intent) {
    ONCEFLOW_RETURN_IF_ERROR(
        CheckSourceIdentity(c.name, checkpoint_->source(), identity, WayOut()));
  }
  if (!intent || !checkpoint_->source()) {
    // A new pipeline, or a checkpoint written before sources were recorded: from now on its
    // source is this one. Where its partitions started is known only for partitions not read
    // yet (RecordStarts).
    if (intent) Log("recording the source in the checkpoint: " + identity.ToString());
    ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteSource(SourceRecordOf(identity)));
  }
  // Scale-out: each partition is checked against the sink when it is claimed.
  if (group_ != nullptr) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(source::Source::Bounds bounds, source_->OffsetBounds());
  return CheckSourceHoldsCommitted(source_.get(), bounds, ReadUpTo(intent), checkpoint_->marks(),
                                   LossWayOut());
}

Status Driver::RecordStarts(const std::vector<OffsetRange>& ranges) {
  if (!checkpoint_->source()) return Status::Ok();
  checkpoint::SourceRecord record = *checkpoint_->source();
  bool changed = false;
  for (const OffsetRange& r : ranges) {
    const auto p = static_cast<size_t>(r.partition.value());
    if (p < known_partitions_ || record.StartOf(r.partition).value() >= 0) continue;
    if (record.starts.size() <= p) record.starts.resize(p + 1, Offset(-1));
    record.starts[p] = r.from;
    changed = true;
  }
  if (!changed) return Status::Ok();
  return checkpoint_->WriteSource(record);
}

Status Driver::PersistRecoveredPositions(int64_t batch, const std::vector<bool>& known) {
  checkpoint::BatchIntent intent;
  intent.batch = BatchId(batch);
  intent.batch_time_ms = checkpoint_->last_intent() ? checkpoint_->last_intent()->batch_time_ms : 0;
  for (size_t p = 0; p < positions_.size() && p < known.size(); ++p) {
    if (!known[p]) continue;
    intent.ranges.push_back({PartitionId(static_cast<int32_t>(p)), positions_[p], positions_[p]});
  }
  ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteIntent(intent));
  ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteCommit(intent.batch, baseline_marks_));
  baseline_marks_.clear();
  return Status::Ok();
}

std::string Driver::WayOut() const {
  return ResetWayOut(options_.reset_command, options_.data_dir, spec_.config.name);
}

std::string Driver::LossWayOut() const {
  return LossOrResetWayOut(options_.reset_command, options_.data_dir, spec_.config.name);
}

Status Driver::CheckSinkAtRecovery(const std::map<int32_t, sink::TaskProgress>& progress) {
  const config::PipelineConfig& c = spec_.config;
  // The CLI names its reset verb; a program using the library deletes what it does.
  const std::string reset =
      (options_.reset_command.empty() ? "delete the checkpoint directory " + checkpoint_->dir() +
                                            " and the sink's progress "
                                            "rows of pipeline '" +
                                            c.name + "' (Sink::DeleteProgress)"
                                      : "run '" + options_.reset_command + "'") +
      ": the next run starts again at starting_offsets";
  const std::string& source = source_identity_;
  for (const auto& [task, prog] : progress) {
    if (prog.source.empty() || prog.source == source) continue;
    return Status::Aborted(sink_->Describe() + ": the progress row of pipeline '" + c.name +
                           "' task " + std::to_string(task) + " (batch " +
                           prog.last_batch.ToString() + ") belongs to source '" + prog.source +
                           "', but the pipeline now reads source '" + source +
                           "': its offsets "
                           "mean nothing there. To start over on the new source, " +
                           reset +
                           "; or give the "
                           "pipeline a new name");
  }
  const auto& intent = checkpoint_->last_intent();
  const auto& commit = checkpoint_->last_commit();
  if (!intent.has_value() || !commit.has_value()) return Status::Ok();  // nothing committed
  // The checkpoint's batches are in the sink: every committed offset of a partition is reached
  // by the progress rows (rows only move forward; keyed state may lag the sink by a batch, but
  // the sink never lags the commits log).
  const bool unfinished = checkpoint_->has_unfinished_batch();
  auto refuse = [&](const std::string& what) {
    return Status::Aborted(
        sink_->Describe() + ": " + what + ", but the checkpoint " + checkpoint_->dir() +
        " has committed batches up to " + commit->ToString() +
        ": the sink lost output that "
        "was committed (was its database deleted, replaced or restored from an older copy?). "
        "Refusing to start, which would leave those records out for good. To write "
        "everything again into this sink, " +
        reset);
  };
  // Where the checkpoint recorded a partition's start, the loop below decides per partition (a
  // checkpoint of `reset --accept-loss` has committed batches that read nothing); else every
  // batch reads records and commits at least one task's row.
  bool starts_recorded = false;
  if (const auto& source = checkpoint_->source()) {
    for (const Offset& start : source->starts) starts_recorded |= start.value() >= 0;
  }
  if (progress.empty() && !starts_recorded) {
    return refuse("the sink has no progress rows of pipeline '" + c.name + "'");
  }
  std::map<PartitionId, Offset> reach;
  for (const auto& [task, prog] : progress) {
    for (const OffsetRange& r : prog.ranges) {
      auto [it, added] = reach.emplace(r.partition, r.until);
      if (!added) it->second = std::max(it->second, r.until);
    }
  }
  std::optional<std::vector<Offset>> earliest;
  for (const OffsetRange& r : intent->ranges) {
    const Offset committed = unfinished ? r.from : r.until;
    const std::string where = "partition " + r.partition.ToString() + " (committed up to offset " +
                              committed.ToString() + ")";
    auto it = reach.find(r.partition);
    if (it != reach.end()) {
      if (it->second < committed) {
        return refuse("the sink's progress rows reach only offset " + it->second.ToString() +
                      " of " + where);
      }
      continue;
    }
    // No row has the partition: right only if the pipeline never read it. The finished last
    // batch read it if its range is not empty; any batch did if the committed offset is past
    // the partition's earliest offset, where it started (with starting_offsets = latest, a
    // partition may have started later: not known).
    bool read = !unfinished && r.from < r.until;
    // Where the pipeline started the partition, when the checkpoint recorded it (source.meta).
    const Offset start =
        checkpoint_->source() ? checkpoint_->source()->StartOf(r.partition) : Offset(-1);
    if (!read && start.value() >= 0) {
      read = committed > start;
    } else if (!read && c.source.records().starting_offsets == config::StartingOffsets::kEarliest) {
      if (!earliest.has_value()) {
        ONCEFLOW_ASSIGN_OR_RETURN(source::Source::Bounds bounds, source_->OffsetBounds());
        earliest = std::move(bounds.earliest);
      }
      const auto p = static_cast<size_t>(r.partition.value());
      read = committed > (p < earliest->size() ? (*earliest)[p] : Offset(0));
    }
    if (read && progress.empty()) {
      return refuse("the sink has no progress rows of pipeline '" + c.name + "'");
    }
    if (read) return refuse("the sink has no progress row for " + where);
  }
  return Status::Ok();
}

Status Driver::Recover() {
  ONCEFLOW_RETURN_IF_ERROR(CheckSource());
  runner_->set_source_identity(source_identity_);
  if (group_ != nullptr) return group_->Recover(&next_batch_, &positions_);
  const config::PipelineConfig& c = spec_.config;
  std::map<int32_t, sink::TaskProgress> progress;
  if (sink_) {
    ONCEFLOW_ASSIGN_OR_RETURN(progress, sink_->ReadProgress(c.name));
    ONCEFLOW_RETURN_IF_ERROR(CheckSinkAtRecovery(progress));
  }
  // A lost checkpoint restarts its epoch count: take one above every epoch the sink has seen,
  // or this driver would be fenced by its own pipeline's past runs.
  Epoch newest(0);
  for (const auto& [task, prog] : progress) newest = std::max(newest, prog.epoch);
  ONCEFLOW_RETURN_IF_ERROR(checkpoint_->RaiseEpochAbove(newest));
  ONCEFLOW_RETURN_IF_ERROR(CheckStateAtRecovery(progress));
  RecoverHistory();
  // 1. An unfinished batch is re-run with exactly its recorded ranges, time and seed. The
  //    sink skips the tasks it already holds. With keyed state, recovery starts at the state
  //    marker: a batch the state store already holds is only recorded as done; one it lacks is
  //    re-run from the state before it (its output skipped by the sink if the sink has it).
  if (checkpoint_->has_unfinished_batch()) {
    const checkpoint::BatchIntent intent = *checkpoint_->last_intent();
    if (StateHolds(intent)) {
      Log("recovery: batch " + intent.batch.ToString() +
          " is in the sink and the state store; recording its commit");
      ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteCommit(intent.batch));
      if (history_ != nullptr) history_->RecordRecovered(intent, CommitEpoch(), true);
    } else {
      Log("recovery: re-running unfinished batch " + intent.batch.ToString() +
          (state_ ? " from the state of batch " + state_->store().batch().ToString() : ""));
      ONCEFLOW_RETURN_IF_ERROR(EnsureHeaders(intent.ranges));
      int64_t records = 0;
      for (const OffsetRange& r : intent.ranges) records += r.size();
      // Counted before the batch runs, so that on_batch_committed sees the recovery work.
      stats_->Update([&](PipelineStats& s) {
        ++s.batches_replayed;
        s.records_reprocessed += records;
      });
      if (history_ != nullptr) {
        // The source's end now, for the re-run's lag (the history only: recovery reads nothing
        // from it, and a source that cannot answer leaves the lag unknown).
        Result<std::vector<Offset>> end = source_->EndOffsets();
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        history_->Planned(now, now, {}, end.has_value() ? std::move(*end) : std::vector<Offset>());
      }
      ONCEFLOW_RETURN_IF_ERROR(runner_->Run(intent, BatchRunner::Intent::kRecorded));
    }
  }
  // 2. Resume after the last batch of the checkpoint ...
  int64_t last = -1;
  if (const auto& intent = checkpoint_->last_intent()) {
    for (const OffsetRange& r : intent->ranges) {
      if (positions_.size() <= static_cast<size_t>(r.partition.value())) {
        positions_.resize(static_cast<size_t>(r.partition.value()) + 1, Offset(-1));
      }
      positions_[static_cast<size_t>(r.partition.value())] = r.until;
    }
    last = intent->batch.value();
  }
  // 3. ... unless the sink knows more: the progress rows are the truth about output. Never
  //    start from starting_offsets while the sink remembers a later batch.
  bool from_sink = false;
  const int64_t checkpointed = last;
  for (const auto& [task, prog] : progress) {
    if (prog.last_batch.value() <= checkpointed) continue;
    from_sink = true;
    last = std::max(last, prog.last_batch.value());
    for (const OffsetRange& r : prog.ranges) {
      const auto p = static_cast<size_t>(r.partition.value());
      if (positions_.size() <= p) positions_.resize(p + 1, Offset(-1));
      positions_[p] = std::max(positions_[p], r.until);
    }
  }
  std::vector<bool> known(positions_.size());
  for (size_t p = 0; p < positions_.size(); ++p) known[p] = positions_[p].value() >= 0;
  known_partitions_ = positions_.size();
  next_batch_ = BatchId(last + 1);
  // 4. Partitions nobody has seen start at starting_offsets (earliest for partitions that
  //    appear later, so nothing added to them is missed).
  ONCEFLOW_ASSIGN_OR_RETURN(source::Source::Bounds bounds, source_->OffsetBounds());
  const std::vector<Offset>& earliest = bounds.earliest;
  const std::vector<Offset>& end = bounds.end;
  const bool fresh = last < 0;
  if (positions_.size() < end.size()) positions_.resize(end.size(), Offset(-1));
  for (size_t p = 0; p < positions_.size(); ++p) {
    if (positions_[p].value() >= 0) continue;
    const bool latest = c.source.records().starting_offsets == config::StartingOffsets::kLatest;
    positions_[p] = fresh && latest && p < end.size()
                        ? end[p]
                        : (p < earliest.size() ? earliest[p] : Offset(0));
  }
  // A baseline mark for every partition the checkpoint has none of (a checkpoint written
  // before marks, or positions from the sink): the next commit records it.
  std::vector<Offset> unmarked = positions_;
  for (size_t p = 0; p < unmarked.size(); ++p) {
    const bool known_here = p < known.size() && known[p];
    const bool marked = std::any_of(checkpoint_->marks().begin(), checkpoint_->marks().end(),
                                    [&](const checkpoint::PartitionMark& m) {
                                      return m.partition.value() == static_cast<int32_t>(p);
                                    });
    if (!known_here || marked) unmarked[p] = Offset(-1);
  }
  ONCEFLOW_ASSIGN_OR_RETURN(baseline_marks_, MarksAt(source_.get(), bounds, unmarked));
  // The sink's positions are checked as the checkpoint's were (CheckSource), and kept: an
  // intent at exactly these positions (empty ranges) and its commit, so that status and verify
  // agree with the sink straight away, before any new batch.
  if (from_sink) {
    std::vector<Offset> read_up_to = positions_;
    for (size_t p = 0; p < read_up_to.size(); ++p) {
      if (p >= known.size() || !known[p]) read_up_to[p] = Offset(-1);
    }
    ONCEFLOW_RETURN_IF_ERROR(
        CheckSourceHoldsCommitted(source_.get(), bounds, read_up_to, {}, LossWayOut()));
    Log("recovery: the sink holds batches up to " + std::to_string(last) +
        ", past the checkpoint: resuming from the sink's progress rows (recorded in the "
        "checkpoint as batch " +
        std::to_string(last) + ")");
    ONCEFLOW_RETURN_IF_ERROR(PersistRecoveredPositions(last, known));
  }
  runner_->set_baseline_marks(std::move(baseline_marks_));
  baseline_marks_.clear();
  return Status::Ok();
}

void Driver::RecoverHistory() {
  if (history_ == nullptr || checkpoint_->has_unfinished_batch()) return;
  const std::optional<checkpoint::BatchIntent>& intent = checkpoint_->last_intent();
  const std::optional<BatchId>& commit = checkpoint_->last_commit();
  // A crash between the commit record and the history record (written just after it) leaves
  // the last committed batch without its record.
  if (!intent.has_value() || !commit.has_value() || intent->batch != *commit) return;
  const std::optional<int64_t> recorded = history_->last_committed_at_open();
  if (recorded.has_value() && *recorded >= commit->value()) return;
  history_->RecordRecovered(*intent, CommitEpoch(), false);
}

bool Driver::StateHolds(const checkpoint::BatchIntent& intent) const {
  return state_ && state_->store().batch() >= intent.batch;
}

Status Driver::CheckStateAtRecovery(const std::map<int32_t, sink::TaskProgress>& progress) const {
  if (!state_) return Status::Ok();
  const BatchId state_batch = state_->store().batch();
  const auto& intent = checkpoint_->last_intent();
  const bool unfinished = checkpoint_->has_unfinished_batch();
  const int64_t last = intent ? intent->batch.value() : -1;
  // The protocol's order (intent, sink, state, commit) allows exactly these states.
  const bool consistent = unfinished
                              ? (state_batch.value() == last || state_batch.value() == last - 1)
                              : state_batch.value() == last;
  const std::string where = "state store " + state_->store().dir();
  if (!consistent) {
    return Status::Corruption(
        where + " is at batch " + state_batch.ToString() + " but the checkpoint's last batch is " +
        std::to_string(last) + (unfinished ? " (unfinished)" : " (done)") +
        ": the state cannot be rebuilt from the sink. Was the state directory deleted or "
        "restored from another copy, or an aggregate added to a pipeline that already ran? " +
        WayOut() + ", or give the pipeline a new name");
  }
  // A stateful pipeline commits as task 0 with all its ranges.
  auto it = progress.find(0);
  if (it == progress.end()) return Status::Ok();
  const sink::TaskProgress& sink_progress = it->second;
  if (sink_progress.last_batch.value() > last) {
    return Status::Corruption(
        "sink holds batch " + sink_progress.last_batch.ToString() + " but the checkpoint and " +
        where + " end at batch " + std::to_string(last) +
        ": the checkpoint directory was lost or restored, and keyed state cannot be rebuilt "
        "from the sink's output. " +
        WayOut() + ", or give the pipeline a new name");
  }
  if (unfinished && sink_progress.last_batch == intent->batch) {
    // The batch the sink holds but the state lacks is re-run from its intent: check that the
    // sink recorded the same ranges (the progress row keeps each batch's start and end).
    auto nonempty = [](std::vector<OffsetRange> r) {
      std::erase_if(r, [](const OffsetRange& x) { return x.from == x.until; });
      return r;
    };
    if (nonempty(sink_progress.ranges) != nonempty(intent->ranges)) {
      return Status::Corruption("batch " + intent->batch.ToString() +
                                ": the sink's progress row records other input ranges than the "
                                "checkpoint's intent; refusing to re-run it");
    }
  }
  return Status::Ok();
}

}  // namespace onceflow::engine
