// update_state end to end: updates kept per key, timeouts, and an exception that dead-letters
// the key's records; the per-batch step (UpdateStateBatch): one call per state task and batch
// with all its keys, exact running totals, a refused key, an error failing the batch attempt.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "engine/state_pipeline_test_util.h"

namespace onceflow::engine {
namespace {

TEST_F(StatePipelineTest, UpdateStateKeepsUpdatesAndTimesOut) {
  SqliteSinkOptions sink;
  sink.path = db_;
  sink.init = {"CREATE TABLE IF NOT EXISTS totals(user TEXT PRIMARY KEY, total INTEGER, "
               "expired INTEGER)"};
  sink.mode = SinkMode::kUpsert;
  sink.table = "totals";
  sink.key = {"user"};
  auto build = [&] {
    PipelineBuilder b("totals");
    b.FromLog({.topic = "purchases"})
        .UpdateState<std::string, int64_t>(
            {"user"},
            [](const std::string& user, std::optional<int64_t>& total, std::span<const Row> values,
               const BatchContext&) {
              if (values.empty()) {  // timing out
                return std::vector<Row>{
                    {{"user", user}, {"total", *total}, {"expired", int64_t{1}}}};
              }
              for (const Row& v : values) total = total.value_or(0) + *v.GetInt("amount");
              if (*total >= 1000) total.reset();  // removed: the next purchase starts over
              return std::vector<Row>{
                  {{"user", user}, {"total", total.value_or(-1)}, {"expired", int64_t{0}}}};
            },
            StateOptions{.timeout = std::chrono::milliseconds(1)})
        .ToSqlite(sink);
    return b;
  };
  ProducePurchases(data_, "purchases", 2, {{"a", 10, 0}, {"a", 5, 0}, {"b", 995, 0}, {"b", 7, 0}});
  ASSERT_TRUE(RunToEnd(build()).ok());
  auto rows = QueryText(db_, "SELECT user, total, expired FROM totals ORDER BY user");
  std::vector<std::vector<std::string>> expected = {{"a", "15", "0"}, {"b", "-1", "0"}};
  EXPECT_EQ(rows, expected);
  // A later batch (batch time at least 1 ms on): a's state times out, b's was removed.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ProducePurchases(data_, "purchases", 2, {{"c", 1, 0}});
  ASSERT_TRUE(RunToEnd(build()).ok());
  rows = QueryText(db_, "SELECT user, total, expired FROM totals ORDER BY user");
  expected = {{"a", "15", "1"}, {"b", "-1", "0"}, {"c", "1", "0"}};
  EXPECT_EQ(rows, expected);
}

TEST_F(StatePipelineTest, AnExceptionInUpdateStateDeadLettersTheKeysRecords) {
  ProducePurchases(data_, "purchases", 1, {{"a", 1, 0}, {"bad", 2, 0}, {"a", 3, 0}});
  SqliteSinkOptions sink;
  sink.path = db_;
  sink.init = {"CREATE TABLE IF NOT EXISTS t(user TEXT PRIMARY KEY, total INTEGER)"};
  sink.mode = SinkMode::kUpsert;
  sink.table = "t";
  sink.key = {"user"};
  PipelineBuilder p("throws");
  p.FromLog({.topic = "purchases"})
      .UpdateStateRows({"user"},
                       [](const Row& key, std::optional<Row>& state, std::span<const Row> values,
                          const BatchContext&) -> std::vector<Row> {
                         if (*key.GetString("user") == "bad") throw std::runtime_error("boom");
                         int64_t total = state ? *state->GetInt("total") : 0;
                         for (const Row& v : values) total += *v.GetInt("amount");
                         state = Row{{"total", total}};
                         return {Row{{"user", key.fields()[0].second}, {"total", total}}};
                       })
      .ToSqlite(sink);
  ASSERT_TRUE(RunToEnd(std::move(p)).ok());
  std::vector<std::vector<std::string>> expected = {{"a", "4"}};
  EXPECT_EQ(QueryText(db_, "SELECT user, total FROM t"), expected);
  auto dead = QueryText(db_, "SELECT \"offset\", error FROM onceflow_dead_letters");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0][0], "1");
  EXPECT_EQ(dead[0][1], "update_state threw: boom");
}

// A running count and sum per user, as one call per state task and batch. Counts the calls
// and the keys they carried.
struct BatchTotals {
  std::mutex mu;
  int64_t calls = 0;
  int64_t keys = 0;

  Status operator()(std::span<KeyedStateUpdate> updates, const BatchContext& ctx) {
    {
      std::lock_guard lock(mu);
      ++calls;
      keys += int64_t(updates.size());
    }
    for (KeyedStateUpdate& u : updates) {
      const std::string user(*u.key.GetString("user"));
      if (user == "frozen") {
        u.error = "account " + user + " is frozen";
        u.state = Row{{"n", int64_t{-1}}, {"spent", int64_t{-1}}};  // ignored
        continue;
      }
      int64_t n = u.state ? *u.state->GetInt("n") : 0;
      int64_t spent = u.state ? *u.state->GetInt("spent") : 0;
      for (const Row& v : u.values) {
        ++n;
        spent += *v.GetInt("amount");
      }
      u.state = Row{{"n", n}, {"spent", spent}};
      u.out.push_back(Row{{"user", user}, {"purchases", n}, {"spent", spent}});
    }
    return Status::Ok();
  }
};

TEST_F(StatePipelineTest, UpdateStateBatchGivesEveryKeyOfAStateTaskInOneCall) {
  auto purchases = MakePurchases(600, 40, 7);
  ProducePurchases(data_, "purchases", 3, purchases);
  auto totals = std::make_shared<BatchTotals>();
  PipelineBuilder b("batch-state");
  b.FromLog({.topic = "purchases"})
      .UpdateStateBatch({"user"}, [totals](std::span<KeyedStateUpdate> u,
                                           const BatchContext& ctx) { return (*totals)(u, ctx); })
      .ToSqlite(SpendSink(db_))
      .StateTasks(2)
      .MaxRecordsPerPartition(50);
  PipelineStats stats;
  Status s = RunToEnd(std::move(b), &stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(CheckSpend(db_, purchases), "");
  // At most one call per (batch, state task), each with all of that task's keys: fewer calls
  // than keys updated, and never more than 2 per batch.
  EXPECT_GT(totals->calls, 0);
  EXPECT_LE(totals->calls, 2 * (stats.last_batch.value() + 1));
  EXPECT_LT(totals->calls, totals->keys);
}

TEST_F(StatePipelineTest, UpdateStateBatchRefusesAKeyAndKeepsItsState) {
  ProducePurchases(data_, "purchases", 2,
                   {{"a", 1, 0}, {"frozen", 2, 0}, {"b", 3, 0}, {"a", 4, 0}, {"frozen", 5, 0}});
  auto totals = std::make_shared<BatchTotals>();
  PipelineBuilder b("batch-refuse");
  b.FromLog({.topic = "purchases"})
      .UpdateStateBatch({"user"}, [totals](std::span<KeyedStateUpdate> u,
                                           const BatchContext& ctx) { return (*totals)(u, ctx); })
      .ToSqlite(SpendSink(db_));
  ASSERT_TRUE(RunToEnd(std::move(b)).ok());
  std::vector<std::vector<std::string>> expected = {{"a", "2", "5"}, {"b", "1", "3"}};
  EXPECT_EQ(QueryText(db_, "SELECT user, purchases, spent FROM spend ORDER BY user"), expected);
  auto dead = QueryText(db_, "SELECT error FROM onceflow_dead_letters");
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0][0], "account frozen is frozen");
  EXPECT_EQ(dead[1][0], "account frozen is frozen");
}

TEST_F(StatePipelineTest, UpdateStateBatchErrorFailsTheBatchAndCommitsNothing) {
  ProducePurchases(data_, "purchases", 1, {{"a", 1, 0}, {"b", 2, 0}});
  PipelineBuilder b("batch-error");
  b.FromLog({.topic = "purchases"})
      .UpdateStateBatch({"user"},
                        [](std::span<KeyedStateUpdate>, const BatchContext&) {
                          return Status::Aborted("state service down");
                        })
      .ToSqlite(SpendSink(db_))
      .MaxBatchFailures(1);
  Status s = RunToEnd(std::move(b));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("state service down"), std::string::npos) << s.ToString();
  EXPECT_TRUE(QueryText(db_, "SELECT user FROM spend").empty());
}

}  // namespace
}  // namespace onceflow::engine
