// The driver's start: recovery from the checkpoint and the sink's progress rows (DESIGN.md, the
// recovery rule), and csv headers.
#include <algorithm>
#include <map>

#include "engine/driver.h"

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
    RETURN_IF_ERROR(decoder_->SetHeader(p, header));
    if (first) {
      const std::string from = "the csv header line of partition " + p.ToString();
      Status fields = CheckFieldsExist(spec_.config.transforms, decoder_->HeaderColumns(), from);
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

Status Driver::Recover() {
  if (Grouped()) return RecoverGrouped();
  const PipelineConfig& c = spec_.config;
  std::map<int32_t, sink::TaskProgress> progress;
  if (sink_) {
    ASSIGN_OR_RETURN(progress, sink_->ReadProgress(c.name));
  }
  // A lost checkpoint restarts its epoch count: take one above every epoch the sink has seen,
  // or this driver would be fenced by its own pipeline's past runs.
  Epoch newest(0);
  for (const auto& [task, prog] : progress) newest = std::max(newest, prog.epoch);
  RETURN_IF_ERROR(checkpoint_->RaiseEpochAbove(newest));
  RETURN_IF_ERROR(CheckStateAtRecovery(progress));
  // 1. An unfinished batch is re-run with exactly its recorded ranges, time and seed. The
  //    sink skips the tasks it already holds. With keyed state, recovery starts at the state
  //    marker: a batch the state store already holds is only recorded as done; one it lacks is
  //    re-run from the state before it (its output skipped by the sink if the sink has it).
  if (checkpoint_->has_unfinished_batch()) {
    const checkpoint::BatchIntent intent = *checkpoint_->last_intent();
    if (StateHolds(intent)) {
      Log("recovery: batch " + intent.batch.ToString() +
          " is in the sink and the state store; recording its commit");
      RETURN_IF_ERROR(checkpoint_->WriteCommit(intent.batch));
    } else {
      Log("recovery: re-running unfinished batch " + intent.batch.ToString() +
          (state_ ? " from the state of batch " + state_->store().batch().ToString() : ""));
      RETURN_IF_ERROR(EnsureHeaders(intent.ranges));
      int64_t records = 0;
      for (const OffsetRange& r : intent.ranges) records += r.size();
      // Counted before the batch runs, so that on_batch_committed sees the recovery work.
      stats_->Update([&](PipelineStats& s) {
        ++s.batches_replayed;
        s.records_reprocessed += records;
      });
      RETURN_IF_ERROR(RunBatch(intent));
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
  if (from_sink) {
    Log("recovery: the sink holds batches up to " + std::to_string(last) +
        ", past the checkpoint: resuming from the sink's progress rows");
  }
  next_batch_ = BatchId(last + 1);
  // 4. Partitions nobody has seen start at starting_offsets (earliest for partitions that
  //    appear later, so nothing added to them is missed).
  ASSIGN_OR_RETURN(source::Source::Bounds bounds, source_->OffsetBounds());
  const std::vector<Offset>& earliest = bounds.earliest;
  const std::vector<Offset>& end = bounds.end;
  const bool fresh = last < 0;
  if (positions_.size() < end.size()) positions_.resize(end.size(), Offset(-1));
  for (size_t p = 0; p < positions_.size(); ++p) {
    if (positions_[p].value() >= 0) continue;
    positions_[p] = fresh && c.source.starting_offsets == StartingOffsets::kLatest && p < end.size()
                        ? end[p]
                        : (p < earliest.size() ? earliest[p] : Offset(0));
  }
  return Status::Ok();
}

}  // namespace onceflow::engine
