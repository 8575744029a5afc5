// The checkpoint under a simulated power loss (util/power_loss.h) and an injected EIO: the last
// commit record written survives; one whose fdatasync failed does not count as committed.
#include <gtest/gtest.h>

#include "checkpoint/checkpoint.h"
#include "log/log_test_util.h"
#include "util/fault_points.h"
#include "util/file.h"
#include "util/power_loss.h"

namespace onceflow::checkpoint {
namespace {

using log::testing::TempDir;

BatchIntent RecordedIntent(int64_t batch) {
  BatchIntent in;
  in.batch = BatchId(batch);
  in.batch_time_ms = 1700000000000 + batch;
  in.ranges.push_back({PartitionId(0), Offset(batch * 10), Offset(batch * 10 + 10)});
  return in;
}

class CheckpointPowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    power_loss::Enable();
    ASSERT_TRUE(power_loss::Forget().ok());  // nothing pending from an earlier test
  }
  void TearDown() override { faults::DisarmAll(); }

  // A fresh pipeline directory under the data directory: every level of it is created here.
  std::string Dir() const { return dir_.Join("data/pipelines/p"); }

  TempDir dir_{"checkpoint-power-loss"};
};

TEST_F(CheckpointPowerLossTest, TheLastCommitRecordAndIntentSurviveAPowerLoss) {
  {
    auto cp = Checkpoint::Open(Dir());
    ASSERT_TRUE(cp.has_value()) << cp.error().ToString();
    for (int64_t b = 0; b < 200; ++b) {
      ASSERT_TRUE((*cp)->WriteIntent(RecordedIntent(b)).ok());
      ASSERT_TRUE((*cp)->WriteCommit(BatchId(b)).ok());
    }
    ASSERT_TRUE((*cp)->WriteIntent(RecordedIntent(200)).ok());
  }
  ASSERT_TRUE(power_loss::Forget().ok());
  auto cp = Checkpoint::Open(Dir());
  ASSERT_TRUE(cp.has_value()) << cp.error().ToString();
  ASSERT_TRUE((*cp)->last_commit().has_value());
  EXPECT_EQ(*(*cp)->last_commit(), BatchId(199));
  ASSERT_TRUE((*cp)->last_intent().has_value());
  EXPECT_EQ(*(*cp)->last_intent(), RecordedIntent(200));
  EXPECT_TRUE((*cp)->has_unfinished_batch());
  // The epoch written at each open is durable too: the next one is greater.
  EXPECT_EQ((*cp)->epoch(), Epoch(2));
}

// A commit record whose fdatasync failed is not a commit: the caller gets the error (the driver
// fails the batch and the run), nothing more is written through that checkpoint, and after a
// power loss the batch is unfinished — a restart re-runs it, and the sink's progress rows say it
// is already there.
TEST_F(CheckpointPowerLossTest, AnEioOnTheCommitRecordsSyncLeavesTheBatchUncommitted) {
  {
    auto cp = Checkpoint::Open(Dir());
    ASSERT_TRUE(cp.has_value()) << cp.error().ToString();
    for (int64_t b = 0; b < 5; ++b) {
      ASSERT_TRUE((*cp)->WriteIntent(RecordedIntent(b)).ok());
      ASSERT_TRUE((*cp)->WriteCommit(BatchId(b)).ok());
    }
    ASSERT_TRUE((*cp)->WriteIntent(RecordedIntent(5)).ok());
    ASSERT_TRUE(faults::Arm("file_sync=eio#1").ok());
    Status s = (*cp)->WriteCommit(BatchId(5));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find(JoinPath(Dir(), "commits")), std::string::npos) << s.ToString();
    EXPECT_FALSE(s.retryable());
    EXPECT_EQ(*(*cp)->last_commit(), BatchId(4));
    // Poisoned: not written again as if the failed sync had made it durable.
    EXPECT_FALSE((*cp)->WriteCommit(BatchId(5)).ok());
  }
  ASSERT_TRUE(power_loss::Forget().ok());
  auto cp = Checkpoint::Open(Dir());
  ASSERT_TRUE(cp.has_value()) << cp.error().ToString();
  EXPECT_EQ(*(*cp)->last_commit(), BatchId(4));
  EXPECT_EQ(*(*cp)->last_intent(), RecordedIntent(5));
  EXPECT_TRUE((*cp)->has_unfinished_batch());
}

}  // namespace
}  // namespace onceflow::checkpoint
