// Helpers shared by the sinks' tests: task builders, a one-task commit, a sink made and opened.
#pragma once

#include <gtest/gtest.h>

#include <memory>
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

// The sink `made` (by MakeSqliteSink, MakePostgresSink, ...), opened; nullptr and a test
// failure if it could not be made or opened.
inline std::unique_ptr<Sink> OpenedOrFail(Result<std::unique_ptr<Sink>> made) {
  if (!made.has_value()) {
    ADD_FAILURE() << made.error().ToString();
    return nullptr;
  }
  if (Status s = (*made)->Open(); !s.ok()) {
    ADD_FAILURE() << s.ToString();
    return nullptr;
  }
  return std::move(*made);
}

// Commits one task; returns its outcome.
inline Result<CommitOutcome> CommitOne(Sink* sink, const TaskCommit& task) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<CommitOutcome> outcomes, sink->Commit({&task, 1}));
  if (outcomes.size() != 1) return Err(Status::Aborted("expected one outcome"));
  return outcomes[0];
}

}  // namespace onceflow::sink::testing
