// GroupOwnership: the consumer group's assignments turned into claims in the sink.
#include "engine/group_ownership.h"

#include <algorithm>
#include <map>
#include <utility>

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

GroupOwnership::GroupOwnership(const config::PipelineConfig& config, source::Source* source,
                               sink::Sink* sink, checkpoint::Checkpoint* checkpoint,
                               StatsBox* stats, LogFn log)
    : config_(config),
      source_(source),
      sink_(sink),
      checkpoint_(checkpoint),
      stats_(stats),
      log_(std::move(log)) {}

bool GroupOwnership::Owns(PartitionId p) const {
  return std::binary_search(owned_.partitions.begin(), owned_.partitions.end(), p);
}

Status GroupOwnership::Recover(BatchId* next_batch, std::vector<Offset>* positions) {
  int64_t last = -1;
  if (const auto& intent = checkpoint_->last_intent()) last = intent->batch.value();
  if (checkpoint_->has_unfinished_batch()) {
    // Its partitions may belong to another process by now, and where each partition resumes
    // is read from the sink on assignment: the batch is not re-run, only closed.
    log_("recovery: batch " + std::to_string(last) +
         " was not finished; with source.assign = "
         "\"group\" each partition resumes where the sink's progress row ends, so it is closed "
         "without a re-run");
    ONCEFLOW_RETURN_IF_ERROR(checkpoint_->WriteCommit(BatchId(last)));
  }
  // The progress rows are read per partition when claimed (Sync), never all at once here: a
  // sink may take over what it reads (the Kafka sink restarts the tasks' producers).
  *next_batch = BatchId(last + 1);
  positions->clear();
  return Status::Ok();
}

Status GroupOwnership::Sync(std::vector<Offset>* positions, BatchId* next_batch) {
  std::optional<source::Source::Ownership> own = source_->Owned();
  if (!own.has_value()) return Status::Ok();
  // Refused under this generation: another process holds a newer one. Wait for ours.
  if (own->epoch == refused_epoch_) own->partitions.clear();
  if (*own == owned_) return Status::Ok();
  if (own->partitions.empty()) {
    if (!owned_.partitions.empty()) {
      log_("group: this process owns no partition now (generation " + own->epoch.ToString() + ")");
    }
    owned_ = std::move(*own);
    return Status::Ok();
  }
  std::vector<int32_t> tasks;
  for (PartitionId p : own->partitions) tasks.push_back(p.value());
  Result<std::map<int32_t, sink::TaskProgress>> claimed =
      sink_->Claim(config_.name, tasks, own->epoch);
  if (!claimed.has_value()) {
    if (claimed.error().code() != StatusCode::kFenced) return claimed.error();
    log_("group: generation " + own->epoch.ToString() +
         " is already outdated, waiting for the "
         "next assignment: " +
         claimed.error().ToString());
    refused_epoch_ = own->epoch;
    owned_ = source::Source::Ownership{own->epoch, {}};
    return Status::Ok();
  }
  ONCEFLOW_ASSIGN_OR_RETURN(source::Source::Bounds bounds, source_->OffsetBounds());
  if (positions->size() < bounds.end.size()) positions->resize(bounds.end.size(), Offset(-1));
  std::string resumed;
  for (PartitionId p : own->partitions) {
    const auto i = static_cast<size_t>(p.value());
    if (i >= positions->size()) positions->resize(i + 1, Offset(-1));
    const sink::TaskProgress& row = (*claimed)[p.value()];
    *next_batch = BatchId(std::max(next_batch->value(), row.last_batch.value() + 1));
    auto r = std::find_if(row.ranges.begin(), row.ranges.end(),
                          [&](const OffsetRange& x) { return x.partition == p; });
    Offset& at = (*positions)[i];
    if (r != row.ranges.end()) {
      at = r->until;
    } else if (config_.source.records().starting_offsets == StartingOffsets::kLatest &&
               i < bounds.end.size()) {
      at = bounds.end[i];
    } else {
      at = i < bounds.earliest.size() ? bounds.earliest[i] : Offset(0);
    }
    resumed += (resumed.empty() ? "" : ", ") + p.ToString() + "@" + at.ToString();
  }
  log_("group: generation " + own->epoch.ToString() + " gives this process partitions " +
       PartitionList(own->partitions) + "; claimed in the sink, resuming at " + resumed);
  owned_ = std::move(*own);
  return Status::Ok();
}

Status GroupOwnership::Abandon(const checkpoint::BatchIntent& intent, const Status& fenced) {
  log_("group: batch " + intent.batch.ToString() +
       " was refused, its partitions have moved to "
       "another process; dropping it: " +
       fenced.ToString());
  stats_->Update([](PipelineStats& s) { ++s.batches_fenced; });
  refused_epoch_ = owned_.epoch;
  owned_ = source::Source::Ownership{owned_.epoch, {}};
  return checkpoint_->WriteCommit(intent.batch);
}

Result<bool> GroupOwnership::CaughtUp(const std::vector<Offset>& target) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto progress, sink_->PeekProgress(config_.name));
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
