// ComputeAhead: when the next batch's computation starts, and when a batch planned ahead is
// dropped so that it is planned anew.
#include "engine/compute_ahead.h"

#include <gtest/gtest.h>

#include <atomic>

namespace onceflow::engine {
namespace {

class ComputeAheadTest : public ::testing::Test {
 protected:
  // Counts the computations and returns one output per planned range.
  ComputeAhead::ComputeFn Counting() {
    return [this](const checkpoint::BatchIntent& planned) -> Result<std::vector<TaskOutput>> {
      computed_.fetch_add(1);
      return std::vector<TaskOutput>(planned.ranges.size());
    };
  }

  static checkpoint::BatchIntent Planned(int64_t batch, size_t partitions) {
    checkpoint::BatchIntent planned;
    planned.batch = BatchId(batch);
    for (size_t p = 0; p < partitions; ++p) {
      planned.ranges.push_back({PartitionId(static_cast<int32_t>(p)), Offset(0), Offset(10)});
    }
    return planned;
  }

  std::atomic<int> computed_{0};
};

TEST_F(ComputeAheadTest, AStartedBatchIsTakenWithItsPlanAndOutputs) {
  ComputeAhead ahead(Counting());
  ahead.Start(Planned(4, 3), {Offset(20), Offset(20), Offset(20)}, /*after_state_step=*/false);
  std::unique_ptr<ComputeAhead::Batch> b = ahead.Take();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->planned.batch, BatchId(4));
  EXPECT_EQ(b->end.size(), 3u);
  Result<std::vector<TaskOutput>> outputs = b->outputs.get();
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(outputs->size(), 3u);
  EXPECT_EQ(computed_.load(), 1);
  EXPECT_EQ(ahead.Take(), nullptr);  // taken once
}

TEST_F(ComputeAheadTest, AfterStateStepTheComputationWaitsForStateStepDone) {
  ComputeAhead ahead(Counting());
  ahead.Start(Planned(1, 2), {}, /*after_state_step=*/true);
  ahead.Wait();  // nothing is running yet
  EXPECT_EQ(computed_.load(), 0);
  ahead.StateStepDone();
  std::unique_ptr<ComputeAhead::Batch> b = ahead.Take();
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->outputs.get().has_value());
  EXPECT_EQ(computed_.load(), 1);
}

TEST_F(ComputeAheadTest, ABatchWhoseStateStepNeverCameIsDroppedAndPlannedAnew) {
  ComputeAhead ahead(Counting());
  ahead.Start(Planned(1, 2), {}, /*after_state_step=*/true);
  ahead.DropWaiting();    // the current batch failed before its state step
  ahead.StateStepDone();  // a later batch's state step must not start the stale one
  EXPECT_EQ(ahead.Take(), nullptr);
  EXPECT_EQ(computed_.load(), 0);
}

TEST_F(ComputeAheadTest, TakeDropsABatchThatNeverStarted) {
  ComputeAhead ahead(Counting());
  ahead.Start(Planned(1, 1), {}, /*after_state_step=*/true);
  EXPECT_EQ(ahead.Take(), nullptr);
  ahead.StateStepDone();
  EXPECT_EQ(computed_.load(), 0);
}

}  // namespace
}  // namespace onceflow::engine
