// Keyed state exact through crashes at every protocol step, including the one between the sink
// commit and the state commit; a lost state store is refused, never rebuilt wrong.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/state_pipeline_test_util.h"

namespace onceflow::engine {
namespace {

// A child process runs the spend pipeline with `faults_spec` armed.
int RunSpendChild(const std::string& data, const std::string& db, const std::string& faults_spec) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!faults::Arm(faults_spec).ok()) ::_exit(3);
    auto p = SpendPipeline(db, 40).Build();
    RunOptions o;
    o.data_dir = data;
    o.until_caught_up = true;
    o.on_log = [](const std::string&) {};
    ::_exit((*p)->Run(o).ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(StatePipelineTest, CrashAtEveryFaultPointKeepsExactAggregates) {
  auto purchases = MakePurchases(1200, 25, 4);
  ProducePurchases(data_, "purchases", 3, purchases);
  for (const std::string& point : faults::PipelinePoints()) {
    const std::string db = dir_.path() + "/crash-" + point + ".db";
    const std::string data = dir_.path() + "/data-" + point;
    ASSERT_EQ(std::system(("cp -r " + data_ + " " + data).c_str()), 0);
    EXPECT_EQ(RunSpendChild(data, db, point + "=crash#2"), faults::kCrashExitCode) << point;
    EXPECT_EQ(RunSpendChild(data, db, point + "=crash#5"), faults::kCrashExitCode) << point;
    EXPECT_EQ(RunSpendChild(data, db, ""), 0) << point;
    EXPECT_EQ(CheckSpend(db, purchases), "") << point;
  }
}

TEST_F(StatePipelineTest, CrashBetweenSinkAndStateCommitReRunsOneBatchFromTheState) {
  auto purchases = MakePurchases(1200, 25, 5);
  ProducePurchases(data_, "purchases", 3, purchases);
  // Batch 2 reaches the sink, not the state store.
  ASSERT_EQ(RunSpendChild(data_, db_, "after_sink_commit=crash#3"), faults::kCrashExitCode);
  PipelineStats stats;
  std::vector<std::string> log;
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_, 40), &stats, &log).ok());
  bool found = false;
  for (const auto& line : log) {
    if (line.find("re-running unfinished batch 2 from the state of batch 1") != std::string::npos) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << (log.empty() ? "" : log[0]);
  // Recovery work is one batch: its output skipped by the sink, its state applied.
  EXPECT_EQ(stats.batches_replayed, 1);
  EXPECT_LE(stats.records_reprocessed, 3 * 40);
  EXPECT_GT(stats.records_reprocessed, 0);
  EXPECT_EQ(stats.already_committed, 1);
  // Re-run from the state of batch 1, batch 2's output is the one committed: nothing reported.
  EXPECT_EQ(stats.replay_mismatches, 0);
  EXPECT_EQ(CheckSpend(db_, purchases), "");
}

TEST_F(StatePipelineTest, FailedStateCommitIsRetriedFromThePreviousBatchsState) {
  auto purchases = MakePurchases(1200, 25, 7);
  ProducePurchases(data_, "purchases", 3, purchases);
  // Batch 2's state commit fails after its sink commit: the retry recomputes it from the state
  // of batch 1 (the cache of committed values must not hold batch 2's deltas), the sink skips
  // it, and its state is applied once.
  ASSERT_TRUE(faults::Arm("mid_state_commit=throw#3").ok());
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_, 40), &stats).ok());
  EXPECT_EQ(stats.batch_retries, 1);
  EXPECT_EQ(stats.already_committed, 1);
  EXPECT_EQ(stats.replay_mismatches, 0);
  EXPECT_EQ(CheckSpend(db_, purchases), "");
}

// The crash of the test above, in a child (a test of its own: a child is forked before this
// process starts threads, which ThreadSanitizer requires): recovery re-runs the batch from the
// state on disk.
TEST_F(StatePipelineTest, CrashInTheStateCommitIsReRunFromThePreviousBatchsState) {
  auto purchases = MakePurchases(1200, 25, 7);
  const std::string data = dir_.path() + "/data-crash";
  const std::string db = dir_.path() + "/crash.db";
  ProducePurchases(data, "purchases", 3, purchases);
  EXPECT_EQ(RunSpendChild(data, db, "mid_state_commit=crash#3"), faults::kCrashExitCode);
  EXPECT_EQ(RunSpendChild(data, db, ""), 0);
  EXPECT_EQ(CheckSpend(db, purchases), "");
}

TEST_F(StatePipelineTest, CrashAfterTheStateCommitOnlyRecordsTheBatch) {
  auto purchases = MakePurchases(600, 10, 6);
  ProducePurchases(data_, "purchases", 3, purchases);
  ASSERT_EQ(RunSpendChild(data_, db_, "after_state_commit=crash#2"), faults::kCrashExitCode);
  PipelineStats stats;
  std::vector<std::string> log;
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_, 40), &stats, &log).ok());
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("batch 1 is in the sink and the state store"), std::string::npos) << log[0];
  EXPECT_EQ(stats.batches_replayed, 0);
  EXPECT_EQ(stats.records_reprocessed, 0);
  EXPECT_EQ(CheckSpend(db_, purchases), "");
}

TEST_F(StatePipelineTest, LostStateIsRefusedNotRebuiltWrong) {
  auto purchases = MakePurchases(300, 10, 7);
  ProducePurchases(data_, "purchases", 3, purchases);
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_)).ok());
  ASSERT_TRUE(RemoveAll(data_ + "/pipelines/spend/state").ok());
  ProducePurchases(data_, "purchases", 3, MakePurchases(10, 10, 8));
  Status s = RunToEnd(SpendPipeline(db_));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the state cannot be rebuilt"), std::string::npos) << s.ToString();
  EXPECT_EQ(CheckSpend(db_, purchases), "");  // nothing written
}

}  // namespace
}  // namespace onceflow::engine
