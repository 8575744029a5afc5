// BatchSizer against synthetic timings: it climbs to the size a model sink commits fastest,
// stays near it, follows it when it moves, and never leaves [floor, ceiling].
#include "engine/batch_sizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

namespace onceflow::engine {
namespace {

constexpr int64_t kPartitions = 4;

// Runs `batches` full batches against a sink whose throughput at `limit` records per partition
// is rate(limit); returns how many batches each limit got.
std::map<int64_t, int> Drive(BatchSizer* sizer, int batches,
                             const std::function<double(int64_t)>& rate) {
  std::map<int64_t, int> seen;
  for (int i = 0; i < batches; ++i) {
    const int64_t limit = sizer->limit();
    ++seen[limit];
    const int64_t records = limit * kPartitions;
    sizer->Observe(limit, records, /*full=*/true, static_cast<double>(records) / rate(limit));
  }
  return seen;
}

// The ledger on PostgreSQL: per-record cost falls with size (fewer commits) until large
// transactions make every statement slower; best at 4,000 per partition.
double Ledger(int64_t limit) {
  const double x = std::log2(static_cast<double>(limit) / 4000.0);
  return 16000.0 / (1.0 + 0.3 * x * x);
}

TEST(BatchSizerTest, StartsAtTheFloorAndClimbsToTheBestSizeThenStaysNearIt) {
  BatchSizer sizer(100000, /*adaptive=*/true);
  EXPECT_EQ(sizer.limit(), 1000);
  const std::map<int64_t, int> warmup = Drive(&sizer, 3, Ledger);
  EXPECT_EQ(warmup, (std::map<int64_t, int>{{1000, 1}, {2000, 1}, {4000, 1}}));
  // From then on it only probes the neighbours of the best size.
  const std::map<int64_t, int> steady = Drive(&sizer, 60, Ledger);
  for (const auto& [limit, n] : steady) {
    EXPECT_TRUE(limit == 2000 || limit == 4000 || limit == 8000) << limit;
  }
  EXPECT_GE(steady.at(4000), 25);
  // Its mean throughput is within 10 % of the best fixed size's.
  double seconds = 0;
  int64_t records = 0;
  for (const auto& [limit, n] : steady) {
    records += n * limit * kPartitions;
    seconds += n * static_cast<double>(limit * kPartitions) / Ledger(limit);
  }
  EXPECT_GT(static_cast<double>(records) / seconds, 0.9 * Ledger(4000));
}

TEST(BatchSizerTest, GrowsToTheCeilingWhenLargerIsAlwaysFaster) {
  BatchSizer sizer(100000, true);
  const std::map<int64_t, int> seen =
      Drive(&sizer, 40, [](int64_t limit) { return 1e6 * limit / (limit + 5000.0); });
  EXPECT_EQ(sizer.limit() >= 50000, true);
  EXPECT_GE(seen.at(100000), 15);  // the ceiling, never past it
  for (const auto& [limit, n] : seen) EXPECT_LE(limit, 100000);
}

TEST(BatchSizerTest, ShrinksWhenTheCommitTimePerRecordGrows) {
  BatchSizer sizer(100000, true);
  Drive(&sizer, 30, [](int64_t limit) { return 1e6 * limit / (limit + 5000.0); });
  // The sink changes: now every record costs more the larger the transaction.
  const std::map<int64_t, int> seen = Drive(
      &sizer, 40, [](int64_t limit) { return 1e5 / (1.0 + static_cast<double>(limit) / 1000.0); });
  EXPECT_EQ(seen.count(1000), 1u);
  EXPECT_GE(seen.at(1000), 20);  // at the floor most of the time
}

TEST(BatchSizerTest, NoiseSmallerThanTheToleranceDoesNotMakeItClimb) {
  BatchSizer sizer(100000, true);
  int i = 0;
  // Throughput flat but for 4 % noise: it stays at the smallest size, probing 2,000 now and
  // then, never moving there.
  const std::map<int64_t, int> seen =
      Drive(&sizer, 40, [&](int64_t) { return (++i % 2 != 0) ? 10000.0 : 9600.0; });
  EXPECT_EQ(seen, (std::map<int64_t, int>{{1000, 35}, {2000, 5}}));
}

TEST(BatchSizerTest, BatchesCutShortByTheEndOfTheDataAreNotObserved) {
  BatchSizer sizer(100000, true);
  sizer.Observe(1000, 10, /*full=*/false, 1.0);
  EXPECT_EQ(sizer.limit(), 1000);
  sizer.Observe(1000, 4000, /*full=*/true, 1.0);
  EXPECT_EQ(sizer.limit(), 2000);
}

TEST(BatchSizerTest, FixedOrASmallCeilingIsTheCeilingAlways) {
  BatchSizer fixed(100000, /*adaptive=*/false);
  EXPECT_EQ(fixed.limit(), 100000);
  Drive(&fixed, 5, Ledger);
  EXPECT_EQ(fixed.limit(), 100000);
  BatchSizer small(250, /*adaptive=*/true);  // at or below the floor: the user's size exactly
  EXPECT_EQ(small.limit(), 250);
  Drive(&small, 5, Ledger);
  EXPECT_EQ(small.limit(), 250);
}

}  // namespace
}  // namespace onceflow::engine
