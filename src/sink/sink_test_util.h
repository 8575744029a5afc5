// Helpers shared by the sinks' tests: task builders, a one-task commit, a sink made and opened,
// one row of a query, the progress rows.
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

// The one row of `rows`, the result of `sql`; "" and a test failure if there are more or none.
inline std::string OneRow(const std::vector<std::string>& rows, const std::string& sql) {
  if (rows.size() != 1) {
    ADD_FAILURE() << sql << ": " << rows.size() << " rows";
    return "";
  }
  return rows[0];
}

// The SELECT of the progress rows of `pipeline` as "task:batch:epoch:ranges" lines, by task.
inline std::string ProgressRowsSql(const std::string& pipeline) {
  return "SELECT task || ':' || last_batch || ':' || epoch || ':' || ranges "
         "FROM onceflow_progress WHERE pipeline = '" +
         pipeline + "' ORDER BY task";
}

// Commits one task; returns its outcome.
inline Result<CommitOutcome> CommitOne(Sink* sink, const TaskCommit& task) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<CommitOutcome> outcomes, sink->Commit({&task, 1}));
  if (outcomes.size() != 1) return Err(Status::Aborted("expected one outcome"));
  return outcomes[0];
}

}  // namespace onceflow::sink::testing
