// The batch history of a stateful pipeline (a running aggregate): its state commit is timed, its
// rows out are the upserted keys, its records in sum to the input.
#include <gtest/gtest.h>

#include "checkpoint/checkpoint.h"
#include "engine/state_pipeline_test_util.h"
#include "onceflow/batch_history.h"

namespace onceflow::engine {
namespace {

TEST_F(StatePipelineTest, HistoryOfAStatefulPipelineTimesItsStateCommit) {
  auto purchases = MakePurchases(600, 20, 1);
  ProducePurchases(data_, "purchases", 3, purchases);
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_, 40), &stats).ok());
  ASSERT_EQ(CheckSpend(db_, purchases), "");
  Result<HistoryReadResult> read = ReadBatchHistory(checkpoint::CheckpointDir(data_, "spend"));
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(read->warning, "");
  ASSERT_EQ(static_cast<int64_t>(read->batches.size()), stats.batches_committed);
  int64_t records_in = 0, rows_out = 0;
  for (const BatchRecord& b : read->batches) {
    SCOPED_TRACE("batch " + std::to_string(b.batch_id));
    EXPECT_EQ(b.outcome, "committed");
    records_in += b.records_in;
    rows_out += b.rows_out;
    // One upserted row per user the batch touched (20 users).
    EXPECT_GT(b.rows_out, 0);
    EXPECT_LE(b.rows_out, 20);
    EXPECT_GT(b.phases.state_commit_us, 0);
    EXPECT_GT(b.phases.sink_commit_us, 0);
    EXPECT_EQ(b.late_records, 0);
    EXPECT_GE(b.visibility_p50_ms, 0);
  }
  EXPECT_EQ(records_in, 600);
  EXPECT_EQ(rows_out, stats.rows_out);
}

}  // namespace
}  // namespace onceflow::engine
