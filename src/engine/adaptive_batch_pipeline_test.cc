// The adaptive batch size end to end (engine/batch_sizer.h) on the embedded log and SQLite: the
// ledger starts at 1,000 records per partition, grows, stays exact; batch_sizing = "fixed" is
// the ceiling; and a batch killed after its intent is re-run with exactly its recorded ranges,
// not with a size the restarted controller would pick.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "checkpoint/checkpoint.h"
#include "engine/batch_sizer.h"
#include "engine/engine_test_util.h"
#include "onceflow/pipeline.h"
#include "util/fault_points.h"

namespace onceflow::engine {
namespace {

using ::onceflow::testing::CheckLedger;
using ::onceflow::testing::ProduceTransfers;
using testing::LedgerSink;

int64_t Largest(const std::vector<OffsetRange>& ranges) {
  int64_t n = 0;
  for (const OffsetRange& r : ranges) n = std::max(n, r.until - r.from);
  return n;
}

class AdaptiveBatchPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/bank.db";
  }
  void TearDown() override { faults::DisarmAll(); }

  // The ledger with the defaults but a 1 ms interval; `sizes` gets each committed batch's
  // largest range, `ranges` each batch's ranges.
  Status Run(PipelineBuilder& b, std::vector<int64_t>* sizes,
             std::vector<std::vector<OffsetRange>>* ranges = nullptr) {
    auto p = b.Build();
    if (!p.has_value()) return p.error();
    RunOptions o;
    o.data_dir = data_;
    o.until_caught_up = true;
    o.on_log = [](const std::string&) {};
    o.on_batch_committed = [&](const BatchContext& c, const PipelineStats&) {
      sizes->push_back(Largest(c.ranges));
      if (ranges != nullptr) ranges->push_back(c.ranges);
    };
    return (*p)->Run(o);
  }
  PipelineBuilder Ledger() {
    PipelineBuilder b("ledger");
    b.FromLog({.topic = "transfers"})
        .ToSqlite(LedgerSink(db_))
        .BatchInterval(std::chrono::milliseconds(1));
    return b;
  }

  log::testing::TempDir dir_;
  std::string data_, db_;
};

TEST_F(AdaptiveBatchPipelineTest, DefaultStartsAtTheFloorGrowsWithinTheCeilingAndIsExact) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 40000, 500);
  PipelineBuilder b = Ledger();
  b.MaxRecordsPerPartition(6000);
  std::vector<int64_t> sizes;
  ASSERT_TRUE(Run(b, &sizes).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
  ASSERT_GE(sizes.size(), 3u);
  EXPECT_EQ(sizes[0], BatchSizer::kFloor);
  // The first full batch always makes it climb: 2,000 follows (at most one batch planned
  // ahead in between), whatever the timings.
  EXPECT_TRUE(sizes[1] == 2 * BatchSizer::kFloor || sizes[2] == 2 * BatchSizer::kFloor)
      << sizes[1] << " " << sizes[2];
  for (int64_t s : sizes) EXPECT_LE(s, 6000);
}

TEST_F(AdaptiveBatchPipelineTest, FixedIsAlwaysTheCeiling) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 20000, 500);
  PipelineBuilder b = Ledger();
  b.MaxRecordsPerPartition(1500).AdaptiveBatchSize(false);
  std::vector<int64_t> sizes;
  ASSERT_TRUE(Run(b, &sizes).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
  ASSERT_GE(sizes.size(), 3u);
  // Every batch but the last ones (where a partition runs out) takes 1,500 of some partition.
  EXPECT_EQ(std::set<int64_t>(sizes.begin(), sizes.end() - 1), std::set<int64_t>{1500});
}

TEST_F(AdaptiveBatchPipelineTest, KilledBatchIsReRunWithItsRecordedRanges) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 40000, 500);
  // A child runs the adaptive ledger and is killed right after the 5th intent is durable.
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!faults::Arm("after_intent=crash#5").ok()) ::_exit(3);
    PipelineBuilder b = Ledger();
    std::vector<int64_t> sizes;
    ::_exit(Run(b, &sizes).ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), faults::kCrashExitCode);
  std::vector<OffsetRange> recorded;
  {
    auto cp = checkpoint::Checkpoint::OpenReadOnly(checkpoint::CheckpointDir(data_, "ledger"));
    ASSERT_TRUE(cp.has_value()) << cp.error().ToString();
    ASSERT_TRUE((*cp)->last_intent().has_value());
    EXPECT_EQ((*cp)->last_intent()->batch, BatchId(4));
    recorded = (*cp)->last_intent()->ranges;
  }
  // Restarted with a fixed size below the floor, which the recorded batch never had: a batch
  // planned again would differ from the intent.
  EXPECT_GE(Largest(recorded), BatchSizer::kFloor);
  PipelineBuilder b = Ledger();
  b.MaxRecordsPerPartition(700).AdaptiveBatchSize(false);
  std::vector<int64_t> sizes;
  std::vector<std::vector<OffsetRange>> ranges;
  ASSERT_TRUE(Run(b, &sizes, &ranges).ok());
  ASSERT_FALSE(ranges.empty());
  EXPECT_EQ(ranges[0], recorded);
  EXPECT_EQ(CheckLedger(db_, transfers), "");
}

}  // namespace
}  // namespace onceflow::engine
