// Helpers shared by the sinks' tests: task builders and a one-task commit.
#pragma once

#include <string>
#include <vector>

#include "sink/sink.h"

namespace onceflow::sink::testing {

inline TaskRange R(int32_t partition, int64_t from, int64_t until) {
  return {PartitionId(partition), Offset(from), Offset(until)};
}

inline TaskCommit Task(std::string pipeline, int32_t task, int64_t batch, int64_t epoch,
                       std::vector<TaskRange> ranges, std::span<const SinkRow> rows,
                       std::span<const DeadLetter> dead_letters = {}) {
  TaskCommit t;
  t.pipeline = std::move(pipeline);
  t.task = task;
  t.batch = BatchId(batch);
  t.epoch = Epoch(epoch);
  t.ranges = std::move(ranges);
  t.rows = rows;
  t.dead_letters = dead_letters;
  return t;
}

// Commits one task; returns its outcome.
inline Result<CommitOutcome> CommitOne(Sink* sink, const TaskCommit& task) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<CommitOutcome> outcomes, sink->Commit({&task, 1}));
  if (outcomes.size() != 1) return Err(Status::Aborted("expected one outcome"));
  return outcomes[0];
}

}  // namespace onceflow::sink::testing
