// Computed fields and expression filters end to end: the builder's Compute and Where over the
// embedded log into SQLite, the output compared exactly with values computed here, failures
// dead-lettered naming the expression; and the builder refusing what the TOML reader refuses.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"
#include "onceflow/pipeline.h"
#include "onceflow/producer.h"
#include "onceflow/topic.h"
#include "testing/sqlite_query.h"

namespace onceflow::engine {
namespace {

using ::onceflow::testing::SqliteTextRows;

struct Bid {
  int64_t auction, price, qty;
  bool has_channel;
  int dir;
};

Bid BidOf(int64_t i) {
  return {.auction = i,
          .price = i * 7 % 1000,
          .qty = i % 11,
          .has_channel = i % 5 != 0,
          .dir = static_cast<int>(i % 4)};
}

class ComputePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/out.db";
  }

  void ProduceBids(int n) {
    auto topic = Topic::Create(data_, "bids", {.partitions = 3});
    ASSERT_TRUE(topic.has_value()) << topic.error().ToString();
    auto producer = Producer::Create(topic->get());
    ASSERT_TRUE(producer.has_value());
    for (int64_t i = 0; i < n; ++i) {
      const Bid b = BidOf(i);
      std::string json =
          "{\"auction\":" + std::to_string(b.auction) + ",\"price\":" + std::to_string(b.price) +
          ",\"qty\":" + std::to_string(b.qty) + ",\"url\":\"https://www.nexmark.com/d" +
          std::to_string(b.dir) + "/e/item.htm?query=1\"" +
          (b.has_channel ? ",\"channel\":\"Google\"" : "") + "}";
      ASSERT_TRUE((*producer)->Send(std::to_string(i), json).has_value());
    }
    ASSERT_TRUE((*producer)->Close().ok());
  }

  log::testing::TempDir dir_;
  std::string data_, db_;
};

TEST_F(ComputePipelineTest, ComputedFieldsReachTheSinkExactly) {
  constexpr int kBids = 3000;
  ProduceBids(kBids);
  PipelineBuilder b("bids");
  b.FromLog({.topic = "bids"})
      .Compute({{"price_eur", "price * 0.908"},
                {"dir1", "SPLIT_INDEX(url, '/', 3)"},
                {"kind", "CASE WHEN price >= 500 THEN 'high' WHEN price >= 100 THEN 'mid' "
                         "ELSE 'low' END"},
                {"channel", "COALESCE(LOWER(channel), 'none')"},
                {"per_unit", "price / qty"}},
               /*missing_as_null=*/true)  // a bid without a channel has a NULL one
      .Where({"MOD(auction, 3) = 0 OR channel = 'none'", "price_eur > 10"})
      .Select({"auction", "price_eur", "dir1", "kind", "channel", "per_unit"})
      .ToSqlite({.path = db_,
                 .init = {"CREATE TABLE IF NOT EXISTS out(auction INTEGER, price_eur REAL, "
                          "dir1 TEXT, kind TEXT, channel TEXT, per_unit INTEGER)"},
                 .table = "out"})
      .BatchInterval(std::chrono::milliseconds(1))
      .MaxRecordsPerPartition(400);
  PipelineStats stats;
  ASSERT_TRUE(testing::RunToEnd(b, data_, &stats).ok());

  // The same computed here, independently: one row per kept bid, a dead letter per bid with
  // qty = 0 (the division comes before the filter, so every such bid is one).
  std::vector<std::vector<std::string>> want;
  int64_t dead = 0;
  for (int64_t i = 0; i < kBids; ++i) {
    const Bid bid = BidOf(i);
    if (bid.qty == 0) {
      ++dead;
      continue;
    }
    const double eur = static_cast<double>(bid.price) * 0.908;
    if (!(bid.auction % 3 == 0 || !bid.has_channel) || !(eur > 10)) continue;
    const char* kind = bid.price >= 500 ? "high" : bid.price >= 100 ? "mid" : "low";
    want.push_back({std::to_string(bid.auction), std::to_string(bid.price * 908),
                    "d" + std::to_string(bid.dir), kind, bid.has_channel ? "google" : "none",
                    std::to_string(bid.price / bid.qty)});
  }
  EXPECT_EQ(SqliteTextRows(db_, "SELECT auction, CAST(round(price_eur * 1000) AS INTEGER), dir1, "
                                "kind, channel, per_unit FROM out ORDER BY auction"),
            want);
  EXPECT_EQ(stats.dead_letters, dead);
  EXPECT_EQ(stats.rows_out, static_cast<int64_t>(want.size()));
  EXPECT_GT(dead, 0);
  EXPECT_EQ(SqliteTextRows(db_, "SELECT DISTINCT error FROM onceflow_dead_letters"),
            (std::vector<std::vector<std::string>>{
                {"compute: per_unit = 'price / qty': column 7: division by zero"}}));
}

TEST_F(ComputePipelineTest, AFieldOfAnotherTypeIsADeadLetterNamingTheExpression) {
  auto topic = Topic::Create(data_, "t", {.partitions = 1});
  ASSERT_TRUE(topic.has_value());
  auto producer = Producer::Create(topic->get());
  ASSERT_TRUE(producer.has_value());
  for (const char* v : {R"({"url":"a/b"})", R"({"url":5})", R"({"url":null})"}) {
    ASSERT_TRUE((*producer)->Send(std::nullopt, v).has_value());
  }
  ASSERT_TRUE((*producer)->Close().ok());
  PipelineBuilder b("p");
  b.FromLog({.topic = "t"})
      .Where({"REGEXP_EXTRACT(url, '[a-z]+', 0) IS NOT NULL"})
      .ToSqlite(
          {.path = db_, .init = {"CREATE TABLE IF NOT EXISTS out(url TEXT)"}, .table = "out"});
  PipelineStats stats;
  ASSERT_TRUE(testing::RunToEnd(b, data_, &stats).ok());
  EXPECT_EQ(SqliteTextRows(db_, "SELECT url FROM out"),
            (std::vector<std::vector<std::string>>{{"a/b"}}));
  EXPECT_EQ(
      SqliteTextRows(db_, "SELECT raw, error FROM onceflow_dead_letters"),
      (std::vector<std::vector<std::string>>{
          {R"({"url":5})", "filter: 'REGEXP_EXTRACT(url, '[a-z]+', 0) IS NOT NULL': column "
                           "16: REGEXP_EXTRACT's argument 1 must be VARCHAR, got BIGINT 5"}}));
}

TEST(ComputeBuilderTest, ExpressionsAreCheckedByBuildAsInToml) {
  auto error = [](PipelineBuilder& b) {
    b.FromLog({.topic = "t"}).ToSqlite({.path = "/srv/onceflow/out.db", .table = "out"});
    Result<std::unique_ptr<Pipeline>> p = b.Build();
    return p.has_value() ? std::string("accepted") : p.error().message();
  };
  PipelineBuilder bad("p");
  bad.Select({"a"}).Compute({{"x", "a +"}});
  EXPECT_EQ(error(bad),
            "pipeline config: transform[1].fields.x: 'a +': column 4: expected an expression, got "
            "the end");
  PipelineBuilder unknown("p");
  unknown.Compute({{"x", "LOWER(a)"}, {"y", "UPPR(a)"}});
  EXPECT_EQ(error(unknown).substr(0, 82),
            "pipeline config: transform[0].fields.y: 'UPPR(a)': column 1: unknown function UPPR");
  PipelineBuilder twice("p");
  twice.Compute({{"x", "1"}, {"x", "2"}});
  EXPECT_EQ(error(twice), "pipeline config: transform[0].fields.x: 'x' is computed twice");
  PipelineBuilder where("p");
  where.Where({"a = NULL"});
  EXPECT_EQ(error(where),
            "where[0]: cannot parse 'a = NULL': column 3: '= NULL' is never true in SQL: use IS "
            "NULL or IS NOT NULL");
  PipelineBuilder good("p");
  good.Compute({{"x", "price * 0.908"}}).Where({"x > 1 AND MOD(auction, 123) = 0"});
  EXPECT_EQ(error(good), "accepted");
}

}  // namespace
}  // namespace onceflow::engine
