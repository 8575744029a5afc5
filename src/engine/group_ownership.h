// GroupOwnership: scale-out (docs/protocol.md "Fencing, epochs and claims"). Several processes
// of one pipeline share a Kafka topic through its consumer group (source.assign = "group");
// Kafka assigns the partitions, and this class turns each assignment into a claim of the
// partitions' progress rows in the sink, with the group's generation as the epoch.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "config/pipeline_config.h"
#include "engine/stats_box.h"
#include "onceflow/status.h"
#include "sink/sink.h"
#include "source/source.h"

namespace onceflow::engine {

// Each process claims the progress rows of its partitions in the sink with the group's
// generation as the epoch, so that a process that lost them (paused past the session timeout:
// a zombie) is fenced by the sink's own transaction; it resumes each partition where the
// sink's progress row ends. A map-only pipeline's output for a partition does not depend on
// how its records are cut into batches, so the new owner's batches need not repeat the old
// owner's. The local checkpoint only numbers batches.
//
// Lifecycle: made by the driver when its source is shared (Source::Owned() has a value); all
// pointers outlive it. Thread-safety: the driver's thread only.
class GroupOwnership {
 public:
  using LogFn = std::function<void(const std::string&)>;
  GroupOwnership(const config::PipelineConfig& config, source::Source* source, sink::Sink* sink,
                 checkpoint::Checkpoint* checkpoint, StatsBox* stats, LogFn log);

  // At start: an unfinished batch is closed without a re-run (its partitions may belong to
  // another process by now; each partition resumes where the sink's progress row ends, read
  // when claimed). Sets the next batch's id; positions are learnt per claim.
  Status Recover(BatchId* next_batch, std::vector<Offset>* positions);

  // Before planning: follows the group's current assignment. On a new one, claims the
  // partitions' rows in the sink (Sink::Claim) and sets `positions` of each claimed partition
  // where its row ends (or at starting_offsets), and `next_batch` past every claimed row. A
  // generation already outdated in the sink is waited out with no partition.
  Status Sync(std::vector<Offset>* positions, BatchId* next_batch);

  // A batch the sink fenced: another process owns its partitions now. The batch is recorded
  // as done here (its ranges belong to the new owner) and the partitions are claimed again
  // only under a newer generation.
  Status Abandon(const checkpoint::BatchIntent& intent, const Status& fenced);

  // With --until-caught-up: whether the sink holds every partition up to `target`.
  Result<bool> CaughtUp(const std::vector<Offset>& target);

  // The epoch of this process's commits: the generation of its claims.
  Epoch epoch() const { return owned_.epoch; }
  // The partitions claimed, sorted; empty before the first assignment.
  const std::vector<PartitionId>& partitions() const { return owned_.partitions; }
  bool Owns(PartitionId p) const;

  GroupOwnership(const GroupOwnership&) = delete;
  GroupOwnership& operator=(const GroupOwnership&) = delete;

 private:
  const config::PipelineConfig& config_;
  source::Source* const source_;
  sink::Sink* const sink_;
  checkpoint::Checkpoint* const checkpoint_;
  StatsBox* const stats_;
  const LogFn log_;

  // The partitions claimed (epoch -1 before the first assignment).
  source::Source::Ownership owned_;
  // A generation under which the sink refused this process: no partition is taken under it.
  Epoch refused_epoch_{-1};
};

}  // namespace onceflow::engine
