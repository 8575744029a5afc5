// update_state end to end: updates kept per key, timeouts, and an exception that dead-letters
// the key's records.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace onceflow::engine
