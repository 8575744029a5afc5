// Tests of the per-partition watermark (EventTimes).
#include "operators/watermark.h"

#include <gtest/gtest.h>

namespace onceflow::operators {
namespace {

std::vector<OffsetRange> Partitions(int n) {
  std::vector<OffsetRange> ranges;
  for (int p = 0; p < n; ++p) ranges.push_back({PartitionId(p), Offset(0), Offset(0)});
  return ranges;
}

TEST(WatermarkTest, IsTheMinimumOverThePartitionsMinusTheLateness) {
  EventTimes times;
  const WatermarkPolicy policy{/*allowed_lateness_ms=*/50, /*idle_timeout_ms=*/1000};
  times.Advance(Partitions(3), 100, {{0, 5000}, {1, 3000}, {2, 9000}});
  EXPECT_EQ(times.WatermarkAt(Partitions(3), 200, policy), 2950);
  // The partition behind moves on: so does the watermark.
  times.Advance(Partitions(3), 300, {{1, 8000}});
  EXPECT_EQ(times.WatermarkAt(Partitions(3), 300, policy), 4950);
  EXPECT_EQ(times.MaxEventTime(), 9000);
}

TEST(WatermarkTest, APartitionWithoutEventTimesHoldsItBackUntilIdle) {
  EventTimes times;
  const WatermarkPolicy policy{0, /*idle_timeout_ms=*/1000};
  // Partition 1 is listed from batch time 100 but never gives an event time.
  times.Advance(Partitions(2), 100, {{0, 5000}});
  EXPECT_EQ(times.WatermarkAt(Partitions(2), 100, policy), kNoTime);
  EXPECT_EQ(times.WatermarkAt(Partitions(2), 1099, policy), kNoTime);
  // Idle after 1000 ms of batch time: partition 0 alone decides.
  EXPECT_EQ(times.WatermarkAt(Partitions(2), 1100, policy), 5000);
  // A partition a batch lists for the first time counts as active from that batch's time.
  EXPECT_EQ(times.WatermarkAt(Partitions(3), 1100, policy), kNoTime);
}

TEST(WatermarkTest, AnIdlePartitionDoesNotHoldItBackAndItNeverDecreases) {
  EventTimes times;
  const WatermarkPolicy policy{0, /*idle_timeout_ms=*/500};
  times.Advance(Partitions(2), 0, {{0, 1000}, {1, 2000}});
  times.watermark = times.WatermarkAt(Partitions(2), 0, policy);
  EXPECT_EQ(times.watermark, 1000);
  // Partition 0 goes quiet; partition 1 goes on.
  times.Advance(Partitions(2), 400, {{1, 7000}});
  EXPECT_EQ(times.WatermarkAt(Partitions(2), 400, policy), 1000);
  times.Advance(Partitions(2), 600, {{1, 9000}});
  times.watermark = times.WatermarkAt(Partitions(2), 600, policy);
  EXPECT_EQ(times.watermark, 9000);
  // Partition 0 comes back far behind: active again, but the watermark stays where it was
  // (its records older than 9000 are late).
  times.Advance(Partitions(2), 700, {{0, 1500}});
  EXPECT_EQ(times.WatermarkAt(Partitions(2), 700, policy), 9000);
  // Every partition idle: the greatest of them.
  EXPECT_EQ(times.WatermarkAt(Partitions(2), 5000, policy), 9000);
}

TEST(WatermarkTest, IdleTimeoutZeroCountsOnlyTheBatchsOwnPartitions) {
  EventTimes times;
  const WatermarkPolicy policy{0, 0};
  times.Advance(Partitions(2), 10, {{0, 100}, {1, 900}});
  // At a later batch time every partition is idle: the maximum, as one watermark per pipeline.
  EXPECT_EQ(times.WatermarkAt(Partitions(2), 11, policy), 900);
}

TEST(WatermarkTest, LateOnlyPartitionsStayActive) {
  EventTimes times;
  const WatermarkPolicy policy{0, 100};
  times.Advance(Partitions(2), 0, {{0, 50}, {1, 60}});
  // Partition 1 gave only late records (kNoTime) at 90: still active at 150.
  times.Advance(Partitions(2), 90, {{1, kNoTime}});
  EXPECT_EQ(times.partitions.at(1).max_event_time, 60);
  EXPECT_EQ(times.partitions.at(1).last_active_ms, 90);
  EXPECT_EQ(times.WatermarkAt(Partitions(2), 150, policy), 60);
}

TEST(WatermarkTest, EncodingRoundTripsAndRefusesGarbage) {
  EventTimes times;
  times.watermark = -12;
  times.Advance(Partitions(3), 1700000000000, {{0, -5}, {2, 1700000000999}});
  auto decoded = EventTimes::Decode(times.Encode());
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, times);
  std::string bytes = times.Encode();
  bytes.pop_back();
  EXPECT_TRUE(EventTimes::Decode(bytes).error().IsCorruption());
  bytes = times.Encode();
  bytes[0] = 2;
  EXPECT_TRUE(EventTimes::Decode(bytes).error().IsCorruption());
}

}  // namespace
}  // namespace onceflow::operators
