// The driver's scale-out half (docs/protocol.md "Fencing, epochs and claims"): several processes of one
// pipeline share a Kafka topic through its consumer group. Kafka assigns the partitions; each
// process claims the progress rows of its partitions in the sink with the group's generation
// as the epoch, so that a process that lost them (paused past the session timeout: a zombie)
// is fenced by the sink's own transaction; and it resumes each partition where the sink's
// progress row ends. A map-only pipeline's output for a partition does not depend on how its
// records are cut into batches, so the new owner's batches need not repeat the old owner's.
#include <algorithm>

#include "engine/driver.h"
#include "engine/planner.h"

namespace onceflow::engine {
namespace {

std::string PartitionList(const std::vector<PartitionId>& partitions) {
  std::string out = "[";
  for (size_t i = 0; i < partitions.size(); ++i) {
    out += (i > 0 ? ", " : "") + partitions[i].ToString();
  }
  return out + "]";
}

}  // namespace

Epoch Driver::CommitEpoch() const {
  return Grouped() ? ownership_->epoch : checkpoint_->epoch();
}

Status Driver::RecoverGrouped() {
  int64_t last = -1;
  if (const auto& intent = checkpoint_->last_intent()) last = intent->batch.value();
  if (checkpoint_->has_unfinished_batch()) {
    // Its partitions may belong to another process by now, and where each partition resumes
    // is read from the sink on assignment: the batch is not re-run, only closed.
    Log("recovery: batch " + std::to_string(last) + " was not finished; with source.assign = "
        "\"group\" each partition resumes where the sink's progress row ends, so it is closed "
        "without a re-run");
    ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteCommit(BatchId(last)));
  }
  // The progress rows are read per partition when claimed (SyncOwnership), never all at once
  // here: a sink may take over what it reads (the Kafka sink restarts the tasks' producers).
  next_batch_ = BatchId(last + 1);
  positions_.clear();
  return Status::Ok();
}

Status Driver::SyncOwnership() {
  std::optional<source::Source::Ownership> own = source_->Owned();
  if (!own.has_value()) return Status::Ok();
  // Refused under this generation: another process holds a newer one. Wait for ours.
  if (own->epoch == refused_epoch_) own->partitions.clear();
  if (*own == *ownership_) return Status::Ok();
  const config::PipelineConfig& c = spec_.config;
  if (own->partitions.empty()) {
    if (!ownership_->partitions.empty()) {
      Log("group: this process owns no partition now (generation " + own->epoch.ToString() + ")");
    }
    ownership_ = std::move(own);
    return Status::Ok();
  }
  std::vector<int32_t> tasks;
  for (PartitionId p : own->partitions) tasks.push_back(p.value());
  Result<std::map<int32_t, sink::TaskProgress>> claimed =
      sink_->Claim(c.name, tasks, own->epoch);
  if (!claimed.has_value()) {
    if (claimed.error().code() != StatusCode::kFenced) return claimed.error();
    Log("group: generation " + own->epoch.ToString() + " is already outdated, waiting for the "
        "next assignment: " + claimed.error().ToString());
    refused_epoch_ = own->epoch;
    ownership_ = source::Source::Ownership{own->epoch, {}};
    return Status::Ok();
  }
  ONCEFLOW_ASSIGN_OR_RETURN(source::Source::Bounds bounds, source_->OffsetBounds());
  if (positions_.size() < bounds.end.size()) positions_.resize(bounds.end.size(), Offset(-1));
  std::string resumed;
  for (PartitionId p : own->partitions) {
    const auto i = static_cast<size_t>(p.value());
    if (i >= positions_.size()) positions_.resize(i + 1, Offset(-1));
    const sink::TaskProgress& row = (*claimed)[p.value()];
    next_batch_ = BatchId(std::max(next_batch_.value(), row.last_batch.value() + 1));
    auto r = std::find_if(row.ranges.begin(), row.ranges.end(),
                          [&](const OffsetRange& x) { return x.partition == p; });
    if (r != row.ranges.end()) {
      positions_[i] = r->until;
    } else if (c.source.records().starting_offsets == config::StartingOffsets::kLatest &&
               i < bounds.end.size()) {
      positions_[i] = bounds.end[i];
    } else {
      positions_[i] = i < bounds.earliest.size() ? bounds.earliest[i] : Offset(0);
    }
    resumed += (resumed.empty() ? "" : ", ") + p.ToString() + "@" + positions_[i].ToString();
  }
  Log("group: generation " + own->epoch.ToString() + " gives this process partitions " +
      PartitionList(own->partitions) + "; claimed in the sink, resuming at " + resumed);
  ownership_ = std::move(own);
  return Status::Ok();
}

Status Driver::AbandonFenced(const checkpoint::BatchIntent& intent, const Status& fenced) {
  Log("group: batch " + intent.batch.ToString() + " was refused, its partitions have moved to "
      "another process; dropping it: " + fenced.ToString());
  stats_->Update([](PipelineStats& s) { ++s.batches_fenced; });
  refused_epoch_ = ownership_->epoch;
  ownership_ = source::Source::Ownership{ownership_->epoch, {}};
  return checkpoint_->WriteCommit(intent.batch);
}

Result<bool> Driver::GroupCaughtUp(const std::vector<Offset>& target) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto progress, sink_->PeekProgress(spec_.config.name));
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<Offset> earliest, source_->EarliestOffsets());
  for (size_t p = 0; p < target.size(); ++p) {
    if (p < earliest.size() && target[p] <= earliest[p]) continue;  // nothing to read there
    auto row = progress.find(static_cast<int32_t>(p));
    if (row == progress.end()) return false;
    bool done = false;
    for (const OffsetRange& r : row->second.ranges) {
      if (r.partition.value() == static_cast<int32_t>(p) && r.until >= target[p]) done = true;
    }
    if (!done) return false;
  }
  return true;
}

}  // namespace onceflow::engine
