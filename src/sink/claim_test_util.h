// The Sink::Claim contract, checked the same way on every sink that has it (SQLite, PostgreSQL):
// a claim fences older epochs on every claimed task (also one with no batch yet), keeps each
// task's progress, refuses an older claim, and the new owner continues exactly where the rows end.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "sink/sink.h"

namespace onceflow::sink::testing {

// `progress()` lists the rows of pipeline "p" as "task:batch:epoch:ranges" lines.
inline void CheckClaim(Sink* sink, const std::function<std::vector<std::string>()>& progress) {
  auto commit = [&](int32_t task, int64_t batch, int64_t epoch, TaskRange range,
                    const std::vector<SinkRow>& rows) -> Result<CommitOutcome> {
    TaskCommit t;
    t.pipeline = "p";
    t.task = task;
    t.batch = BatchId(batch);
    t.epoch = Epoch(epoch);
    t.ranges = {range};
    t.rows = rows;
    ONCEFLOW_ASSIGN_OR_RETURN(auto outcomes, sink->Commit(std::span<const TaskCommit>(&t, 1)));
    return outcomes.at(0);
  };
  auto row = [](int64_t amount, int32_t p, int64_t offset) {
    return std::vector<SinkRow>{
        {Row{{"account", int64_t{1}}, {"amount", amount}}, PartitionId(p), Offset(offset)}};
  };
  auto range = [](int32_t p, int64_t from, int64_t until) {
    return TaskRange{PartitionId(p), Offset(from), Offset(until)};
  };
  // Task 0 committed batch 4 under epoch 2; task 1 has nothing yet.
  ASSERT_EQ(commit(0, 4, 2, range(0, 0, 1), row(10, 0, 0)), CommitOutcome::kCommitted);
  const int32_t tasks[] = {1, 0};
  auto claimed = sink->Claim("p", tasks, Epoch(5));
  ASSERT_TRUE(claimed.has_value()) << claimed.error().ToString();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ(claimed->at(0).last_batch, BatchId(4));
  EXPECT_EQ(claimed->at(0).epoch, Epoch(5));
  EXPECT_EQ(claimed->at(0).ranges, std::vector<TaskRange>{range(0, 0, 1)});
  EXPECT_EQ(claimed->at(1).last_batch, BatchId(-1));
  EXPECT_EQ(claimed->at(1).epoch, Epoch(5));
  EXPECT_TRUE(claimed->at(1).ranges.empty());
  EXPECT_EQ(progress(), (std::vector<std::string>{"0:4:5:0:0-1", "1:-1:5:"}));
  // A row with no batch is not progress: ReadProgress leaves it out.
  auto read = sink->ReadProgress("p");
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(read->size(), 1u);

  // The previous owner (epoch 2) goes on as if nothing happened: fenced on both tasks, even
  // the one that never committed, and nothing is written.
  for (int32_t task : {0, 1}) {
    auto outcome = commit(task, 5, 2, range(task, task == 0 ? 1 : 0, 2), row(1000, task, 1));
    ASSERT_FALSE(outcome.has_value()) << "task " << task;
    EXPECT_EQ(outcome.error().code(), StatusCode::kFenced) << outcome.error().ToString();
  }
  // An older claim (a process whose generation is outdated) is refused and changes nothing;
  // claiming again under the same epoch is harmless.
  auto old = sink->Claim("p", tasks, Epoch(3));
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code(), StatusCode::kFenced);
  EXPECT_NE(old.error().message().find("pipeline 'p' task 0: cannot take it over for epoch 3: "
                                       "epoch 5 already holds it"),
            std::string::npos)
      << old.error().message();
  ASSERT_TRUE(sink->Claim("p", tasks, Epoch(5)).has_value());
  EXPECT_EQ(progress(), (std::vector<std::string>{"0:4:5:0:0-1", "1:-1:5:"}));

  // The new owner continues where the rows end; a gap is still a gap.
  ASSERT_EQ(commit(0, 5, 5, range(0, 1, 2), row(1, 0, 1)), CommitOutcome::kCommitted);
  ASSERT_EQ(commit(1, 5, 5, range(1, 0, 3), row(2, 1, 0)), CommitOutcome::kCommitted);
  auto gap = commit(0, 6, 5, range(0, 3, 4), row(4, 0, 3));
  ASSERT_FALSE(gap.has_value());
  EXPECT_EQ(gap.error().code(), StatusCode::kAborted);
  EXPECT_EQ(progress(), (std::vector<std::string>{"0:5:5:0:1-2", "1:5:5:1:0-3"}));
}

}  // namespace onceflow::sink::testing
