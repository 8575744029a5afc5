// TransactionalSink's skeleton against an in-memory sink that logs every hook it is called
// through: the order of the steps, where each fault point lies, and what a refusal leaves.
#include "sink/transactional_sink.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/fault_points.h"

namespace onceflow::sink {
namespace {

// Progress rows in a map; a transaction works on a copy that COMMIT makes the committed one.
class LoggingSink final : public TransactionalSink {
 public:
  Status Open() override { return Status::Ok(); }
  Result<std::map<int32_t, TaskProgress>> ReadProgress(const std::string& pipeline) override {
    std::map<int32_t, TaskProgress> out;
    for (const auto& [id, row] : committed_) {
      if (id.first == pipeline) out[id.second] = row;
    }
    return out;
  }
  Status DeleteProgress(const std::string&) override { return Status::Ok(); }
  std::string Describe() const override { return "logging sink"; }

  const std::vector<std::string>& log() const { return log_; }
  void ClearLog() { log_.clear(); }
  void Store(int32_t task, TaskProgress row) { committed_[{"p", task}] = std::move(row); }

 protected:
  Status Begin(const std::string&) override {
    log_.push_back("begin");
    pending_ = committed_;
    return Status::Ok();
  }
  Status ReadProgressRows(std::span<const TaskCommit> tasks,
                          std::vector<std::optional<TaskProgress>>* stored) override {
    for (size_t i = 0; i < tasks.size(); ++i) {
      log_.push_back("read " + std::to_string(tasks[i].task));
      auto it = pending_.find({tasks[i].pipeline, tasks[i].task});
      if (it != pending_.end()) (*stored)[i] = it->second;
    }
    return Status::Ok();
  }
  Result<std::optional<TaskProgress>> ReadClaimRow(const std::string& pipeline,
                                                   int32_t task) override {
    log_.push_back("read " + std::to_string(task));
    auto it = pending_.find({pipeline, task});
    if (it == pending_.end()) return std::nullopt;
    return it->second;
  }
  Status WriteClaim(const std::string& pipeline, int32_t task, const TaskProgress& after) override {
    log_.push_back("claim " + std::to_string(task) + " epoch " + after.epoch.ToString());
    pending_[{pipeline, task}] = after;
    return Status::Ok();
  }
  Status WriteRows(const TaskCommit& t, std::span<const SinkRow> rows) override {
    log_.push_back("rows " + std::to_string(t.task) + " x" + std::to_string(rows.size()));
    return Status::Ok();
  }
  Status WriteDeadLetter(const TaskCommit& t, PartitionId, Offset, std::string_view,
                         std::string_view) override {
    log_.push_back("dead letter " + std::to_string(t.task));
    return Status::Ok();
  }
  Status WriteProgress(const std::string& pipeline, int32_t task, const TaskProgress& row,
                       int64_t) override {
    log_.push_back("progress " + std::to_string(task) + " batch " + row.last_batch.ToString());
    pending_[{pipeline, task}] = row;
    return Status::Ok();
  }
  Status CommitTransaction(const std::string&) override {
    log_.push_back("commit");
    committed_ = pending_;
    return Status::Ok();
  }
  void Rollback() override { log_.push_back("rollback"); }

 private:
  std::vector<std::string> log_;
  std::map<std::pair<std::string, int32_t>, TaskProgress> committed_, pending_;
};

class TransactionalSinkTest : public ::testing::Test {
 protected:
  void TearDown() override { faults::DisarmAll(); }

  // Task `task` of pipeline "p" reading partition `task` from `from`, with `rows` rows.
  TaskCommit Task(int32_t task, int64_t batch, int64_t from, size_t rows, int64_t epoch = 1) {
    auto& storage = rows_[task];
    storage.assign(rows, SinkRow{Row{}, PartitionId(task), Offset(from)});
    TaskCommit t;
    t.pipeline = "p";
    t.task = task;
    t.batch = BatchId(batch);
    t.epoch = Epoch(epoch);
    t.ranges = {{PartitionId(task), Offset(from), Offset(from + static_cast<int64_t>(rows))}};
    t.rows = storage;
    return t;
  }

  LoggingSink sink_;
  std::map<int32_t, std::vector<SinkRow>> rows_;
};

TEST_F(TransactionalSinkTest, CommitReadsAndDecidesEveryTaskBeforeWritingAny) {
  std::vector<TaskCommit> tasks = {Task(0, 0, 0, 4), Task(1, 0, 0, 2)};
  auto outcomes = sink_.Commit(tasks);
  ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
  EXPECT_EQ(*outcomes,
            (std::vector<CommitOutcome>{CommitOutcome::kCommitted, CommitOutcome::kCommitted}));
  // Half of the commit's 6 rows (3) are written before mid_sink_write, across the task's rows.
  EXPECT_EQ(sink_.log(), (std::vector<std::string>{"begin", "read 0", "read 1", "rows 0 x3",
                                                   "rows 0 x1", "progress 0 batch 0", "rows 1 x2",
                                                   "progress 1 batch 0", "commit"}));
}

TEST_F(TransactionalSinkTest, AFaultAtMidSinkWriteLeavesHalfTheRowsAndRollsBack) {
  ASSERT_TRUE(faults::Arm("mid_sink_write=throw").ok());
  std::vector<TaskCommit> tasks = {Task(0, 0, 0, 4)};
  auto outcomes = sink_.Commit(tasks);
  ASSERT_FALSE(outcomes.has_value());
  EXPECT_TRUE(outcomes.error().retryable()) << outcomes.error().ToString();
  EXPECT_EQ(sink_.log(), (std::vector<std::string>{"begin", "read 0", "rows 0 x2", "rollback"}));
  EXPECT_TRUE(sink_.ReadProgress("p")->empty());
}

TEST_F(TransactionalSinkTest, AFaultBeforeSinkCommitComesAfterEveryWriteAndRollsBack) {
  ASSERT_TRUE(faults::Arm("before_sink_commit=throw").ok());
  std::vector<TaskCommit> tasks = {Task(0, 0, 0, 2)};
  ASSERT_FALSE(sink_.Commit(tasks).has_value());
  EXPECT_EQ(sink_.log(), (std::vector<std::string>{"begin", "read 0", "rows 0 x1", "rows 0 x1",
                                                   "progress 0 batch 0", "rollback"}));
  EXPECT_TRUE(sink_.ReadProgress("p")->empty());
}

TEST_F(TransactionalSinkTest, AFaultAfterSinkCommitLeavesTheBatchCommittedAndTheRetrySkipsIt) {
  ASSERT_TRUE(faults::Arm("after_sink_commit=throw#1").ok());
  std::vector<TaskCommit> tasks = {Task(0, 0, 0, 2)};
  auto first = sink_.Commit(tasks);
  ASSERT_FALSE(first.has_value());
  EXPECT_TRUE(first.error().retryable());
  EXPECT_EQ(sink_.log().back(), "commit");
  ASSERT_EQ(sink_.ReadProgress("p")->at(0).last_batch, BatchId(0));
  sink_.ClearLog();
  auto retry = sink_.Commit(tasks);
  ASSERT_TRUE(retry.has_value()) << retry.error().ToString();
  EXPECT_EQ(*retry, std::vector<CommitOutcome>{CommitOutcome::kAlreadyCommitted});
  EXPECT_EQ(sink_.log(), (std::vector<std::string>{"begin", "read 0", "rollback"}));
}

TEST_F(TransactionalSinkTest, AFencedTaskFailsTheWholeCommitBeforeAnyWrite) {
  TaskProgress newer;
  newer.last_batch = BatchId(0);
  newer.epoch = Epoch(5);
  newer.ranges = {{PartitionId(1), Offset(0), Offset(3)}};
  sink_.Store(1, newer);
  std::vector<TaskCommit> tasks = {Task(0, 1, 0, 2), Task(1, 1, 3, 2)};
  auto outcomes = sink_.Commit(tasks);
  ASSERT_FALSE(outcomes.has_value());
  EXPECT_EQ(outcomes.error().code(), StatusCode::kFenced) << outcomes.error().ToString();
  EXPECT_EQ(sink_.log(), (std::vector<std::string>{"begin", "read 0", "read 1", "rollback"}));
  EXPECT_EQ(sink_.ReadProgress("p")->count(0), 0u);
}

TEST_F(TransactionalSinkTest, ClaimWritesOnlyTheRowsWhoseEpochChanges) {
  TaskProgress held;
  held.last_batch = BatchId(3);
  held.epoch = Epoch(7);
  sink_.Store(2, held);
  const std::vector<int32_t> tasks = {2, 0};
  auto claimed = sink_.Claim("p", tasks, Epoch(7));
  ASSERT_TRUE(claimed.has_value()) << claimed.error().ToString();
  EXPECT_EQ(claimed->at(0).last_batch, BatchId(-1));
  EXPECT_EQ(claimed->at(2).last_batch, BatchId(3));
  // In task order, so that a claim and a commit lock rows in the same order.
  EXPECT_EQ(sink_.log(),
            (std::vector<std::string>{"begin", "read 0", "claim 0 epoch 7", "read 2", "commit"}));
}

TEST_F(TransactionalSinkTest, AClaimOfATaskHeldByANewerEpochIsFencedAndChangesNothing) {
  TaskProgress held;
  held.last_batch = BatchId(3);
  held.epoch = Epoch(9);
  sink_.Store(1, held);
  const std::vector<int32_t> tasks = {0, 1};
  auto claimed = sink_.Claim("p", tasks, Epoch(8));
  ASSERT_FALSE(claimed.has_value());
  EXPECT_EQ(claimed.error().code(), StatusCode::kFenced) << claimed.error().ToString();
  EXPECT_EQ(sink_.log(),
            (std::vector<std::string>{"begin", "read 0", "claim 0 epoch 8", "read 1", "rollback"}));
  EXPECT_EQ(sink_.ReadProgress("p")->count(0), 0u);
}

}  // namespace
}  // namespace onceflow::sink
