// A running pipeline with the default settings (batch_interval_ms = 0) that has gone idle wakes
// on records appended to its embedded-log source and commits each of them exactly once. The
// test waits for the effect in the sink (a generous guard, never a sleep-and-assert) and checks
// exact contents, not a latency (bench/visibility.cc measures that).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "engine/engine_test_util.h"
#include "log/record_batch.h"
#include "onceflow/pipeline.h"
#include "testing/hang_guard.h"

namespace onceflow::engine {
namespace {

constexpr auto IdleWakeInts = ::onceflow::testing::SqliteInts;

// Polls the sink's table until it holds `rows` rows or the hang guard passes; returns the count.
int64_t WaitForRows(const std::string& db, int64_t rows) {
  const auto guard = std::chrono::steady_clock::now() + ::onceflow::testing::kHangGuard;
  int64_t count = -1;
  while (std::chrono::steady_clock::now() < guard) {
    auto r = IdleWakeInts(db, "SELECT COUNT(*) FROM events");
    count = r.empty() ? -1 : r[0][0];
    if (count >= rows) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return count;
}

TEST(IdleWakePipelineTest, RecordsAppendedToAnIdlePipelineAreCommittedExactlyOnce) {
  log::testing::TempDir dir;
  const std::string data = dir.path() + "/data", db = dir.path() + "/out.db";
  log::TopicConfig config;
  config.partitions = 2;
  auto topic = log::Topic::Create(data, "events", config);
  ASSERT_TRUE(topic.has_value()) << topic.error().ToString();
  auto pipeline =
      PipelineBuilder("idle_wake")
          .FromLog({.topic = "events"})
          .ToSqlite({.path = db,
                     .init = {"CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, p "
                              "INTEGER NOT NULL)"},
                     .mode = SinkMode::kAppend,
                     .table = "events"})
          .Build();
  ASSERT_TRUE(pipeline.has_value()) << pipeline.error().ToString();
  RunOptions o;
  o.data_dir = data;
  o.on_log = [](const std::string&) {};
  Status result;
  std::thread runner([&] { result = (*pipeline)->Run(o); });

  // Rounds of a few records, each into a pipeline that has drained everything before it: the
  // first round finds it starting, the later ones find it idle, waiting on its source.
  constexpr int kRounds = 6, kPerRound = 5;
  for (int round = 0; round < kRounds; ++round) {
    log::BatchBuilder b;
    std::vector<std::string> values;
    for (int k = 0; k < kPerRound; ++k) {
      const int id = round * kPerRound + k;
      values.push_back("{\"id\":" + std::to_string(id) + ",\"p\":" + std::to_string(round % 2) +
                       "}");
    }
    for (const std::string& v : values) b.Add(RecordView{std::nullopt, v, 1, {}});
    auto log = (*topic)->partition(PartitionId(round % 2));
    ASSERT_TRUE(log.has_value());
    ASSERT_TRUE((*log)->Append(b.Finish()).has_value());
    ASSERT_EQ(WaitForRows(db, (round + 1) * kPerRound), (round + 1) * kPerRound)
        << "round " << round << ": the appended records were not committed";
  }
  (*pipeline)->Stop();
  runner.join();
  ASSERT_TRUE(result.ok()) << result.ToString();

  std::vector<std::vector<int64_t>> expected;
  for (int id = 0; id < kRounds * kPerRound; ++id) expected.push_back({id, (id / kPerRound) % 2});
  EXPECT_EQ(IdleWakeInts(db, "SELECT id, p FROM events ORDER BY id"), expected);
  EXPECT_EQ((*pipeline)->stats().records_in, kRounds * kPerRound);
  EXPECT_EQ((*pipeline)->stats().rows_out, kRounds * kPerRound);
}

}  // namespace
}  // namespace onceflow::engine
