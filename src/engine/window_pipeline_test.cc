// Event-time windows end to end: final and update emission with out-of-order input and late
// records, sliding windows.
#include <gtest/gtest.h>

#include <map>

#include "engine/state_pipeline_test_util.h"

namespace onceflow::engine {
namespace {

// One partition, 5 records per batch: batch boundaries, hence watermarks, are known.
//   batch 0: ts 100 900 1500 300 2600   -> max 2600, watermark after: 2100
//   batch 1: ts 2200 1900* 2050* 2999 3400 (* older than the watermark 2100: late)
//   batch 2: ts 4000 3000
std::vector<Purchase> WindowWorkload() {
  return {{"u1", 1, 100},  {"u2", 2, 900},   {"u1", 3, 1500}, {"u1", 4, 300},
          {"u2", 5, 2600}, {"u1", 10, 2200}, {"u1", 7, 1900}, {"u2", 8, 2050},
          {"u2", 1, 2999}, {"u1", 2, 3400},  {"u1", 1, 4000}, {"u2", 4, 3000}};
}

PipelineBuilder WindowPipeline(const std::string& db, const std::string& emit) {
  PipelineBuilder b("windows");
  WindowSpec w;
  w.type = WindowType::kTumbling;
  w.size = std::chrono::milliseconds(1000);
  w.time_field = "ts";
  w.allowed_lateness = std::chrono::milliseconds(500);
  w.emit = emit == "final" ? WindowEmit::kFinal : WindowEmit::kUpdate;
  b.FromLog({.topic = "purchases"})
      .Aggregate({"user"}, {{"n", "count"}, {"total", "sum(amount)"}}, w)
      .ToSqlite(WindowSink(db))
      .BatchInterval(std::chrono::milliseconds(1))
      .MaxRecordsPerPartition(5);
  return b;
}

TEST_F(StatePipelineTest, FinalWindowsWithOutOfOrderInputAndLateRecords) {
  ProducePurchases(data_, "purchases", 1, WindowWorkload());
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(WindowPipeline(db_, "final"), &stats).ok());
  // Closed windows only, each emitted once with its final value; [3000, 4000) is still open
  // (watermark 3500 after batch 2).
  std::vector<std::vector<std::string>> expected = {{"u1", "0", "1000", "2", "5"},
                                                    {"u2", "0", "1000", "1", "2"},
                                                    {"u1", "1000", "2000", "1", "3"},
                                                    {"u1", "2000", "3000", "1", "10"},
                                                    {"u2", "2000", "3000", "2", "6"}};
  EXPECT_EQ(Windows(db_), expected);
  EXPECT_EQ(stats.late_records, 2);
  auto dead = QueryText(db_, "SELECT \"offset\", error FROM onceflow_dead_letters ORDER BY 1");
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0][0], "6");
  EXPECT_NE(dead[0][1].find("late record: event time 1900 is before the watermark 2100"),
            std::string::npos)
      << dead[0][1];
  EXPECT_EQ(dead[1][0], "7");
  // Closed windows' state is deleted: a record for a closed window is late, never a new row.
  ProducePurchases(data_, "purchases", 1, {{"u1", 100, 50}, {"u9", 1, 9000}});
  ASSERT_TRUE(RunToEnd(WindowPipeline(db_, "final"), &stats).ok());
  expected.push_back({"u1", "3000", "4000", "1", "2"});  // closed by the watermark 8500
  expected.push_back({"u2", "3000", "4000", "1", "4"});
  expected.push_back({"u1", "4000", "5000", "1", "1"});
  EXPECT_EQ(Windows(db_), expected);
  EXPECT_EQ(QueryText(db_, "SELECT COUNT(*) FROM onceflow_dead_letters")[0][0], "3");
}

TEST_F(StatePipelineTest, UpdateWindowsShowEveryWindowsCurrentValue) {
  auto workload = WindowWorkload();
  ProducePurchases(data_, "purchases", 1, workload);
  ASSERT_TRUE(RunToEnd(WindowPipeline(db_, "update")).ok());
  std::vector<Purchase> on_time;
  for (const Purchase& p : workload) {
    if (p.ts != 1900 && p.ts != 2050) on_time.push_back(p);
  }
  std::vector<std::vector<std::string>> expected;
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> sorted;
  for (const auto& [k, v] : WindowSums(on_time, 1000)) sorted[{std::get<1>(k), std::get<0>(k)}] = v;
  for (const auto& [k, v] : sorted) {
    expected.push_back({k.second, std::to_string(k.first), std::to_string(k.first + 1000),
                        std::to_string(v.first), std::to_string(v.second)});
  }
  EXPECT_EQ(Windows(db_), expected);
}

TEST_F(StatePipelineTest, SlidingWindowsCountARecordInEveryWindowItFalls) {
  ProducePurchases(data_, "purchases", 1, {{"u1", 1, 1000}, {"u1", 2, 1600}, {"u1", 4, 2100}});
  PipelineBuilder b("sliding");
  WindowSpec w;
  w.type = WindowType::kSliding;
  w.size = std::chrono::milliseconds(1000);
  w.slide = std::chrono::milliseconds(500);
  w.time_field = "ts";
  b.FromLog({.topic = "purchases"})
      .Aggregate({"user"}, {{"n", "count"}, {"total", "sum(amount)"}}, w)
      .ToSqlite(WindowSink(db_));
  ASSERT_TRUE(RunToEnd(std::move(b)).ok());
  std::vector<std::vector<std::string>> expected = {{"u1", "500", "1500", "1", "1"},
                                                    {"u1", "1000", "2000", "2", "3"},
                                                    {"u1", "1500", "2500", "2", "6"},
                                                    {"u1", "2000", "3000", "1", "4"}};
  EXPECT_EQ(Windows(db_), expected);
}

}  // namespace
}  // namespace onceflow::engine
