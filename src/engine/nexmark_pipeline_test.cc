// The Nexmark generator as a pipeline source, end to end: what a pipeline commits equals the
// events generated directly, the blackhole sink counts them exactly once, a run may be extended
// to more events, and a changed generator is refused like a changed topic.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "engine/engine_test_util.h"
#include "onceflow/pipeline.h"
#include "sink/blackhole_sink.h"
#include "source/nexmark_model.h"

namespace onceflow::engine {
namespace {

using Rows = std::vector<std::vector<std::string>>;

NexmarkSourceOptions Bids(int64_t events, int32_t partitions) {
  NexmarkSourceOptions o;
  o.events = events;
  o.partitions = partitions;
  o.kind = NexmarkKind::kBid;
  return o;
}

// The bids among the first `events` events, as SQLite returns them as text, sorted.
Rows ExpectedBids(const NexmarkSourceOptions& options) {
  Rows out;
  source::nexmark::Event e;
  for (int64_t j = 0; j < source::nexmark::CountOf(NexmarkKind::kBid, options.events); ++j) {
    source::nexmark::Generate(options, source::nexmark::EventNumberOf(NexmarkKind::kBid, j), &e);
    out.push_back({std::to_string(e.auction), std::to_string(e.bidder), std::to_string(e.price),
                   std::string(e.channel), std::string(e.url), std::to_string(e.date_time),
                   std::string(e.extra)});
  }
  std::sort(out.begin(), out.end());
  return out;
}

SqliteSinkOptions BidSink(const std::string& db) {
  SqliteSinkOptions s;
  s.path = db;
  s.init = {"CREATE TABLE IF NOT EXISTS bid(auction INTEGER, bidder INTEGER, price INTEGER, "
            "channel TEXT, url TEXT, date_time INTEGER, extra TEXT)"};
  s.table = "bid";
  return s;
}

class NexmarkPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/bids.db";
  }

  Rows Committed() {
    Rows rows = ::onceflow::testing::SqliteTextRows(
        db_, "SELECT auction, bidder, price, channel, url, date_time, extra FROM bid");
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  log::testing::TempDir dir_;
  std::string data_, db_;
};

TEST_F(NexmarkPipelineTest, ARunCommitsExactlyTheGeneratedBids) {
  const NexmarkSourceOptions options = Bids(20'000, 3);
  PipelineBuilder b("bids");
  b.FromNexmark(options).ToSqlite(BidSink(db_)).MaxRecordsPerPartition(1000);
  PipelineStats stats;
  ASSERT_TRUE(testing::RunToEnd(b, data_, &stats).ok());
  EXPECT_EQ(stats.records_in, 18'400);  // 46 of every 50 events are bids
  EXPECT_EQ(Committed(), ExpectedBids(options));
}

TEST_F(NexmarkPipelineTest, AShapedRateReachesTheSinkAsTheModelTimesIt) {
  NexmarkSourceOptions options = Bids(12'000, 3);
  options.events_per_second = 1000;
  options.rate_shape = NexmarkRateShape::kSquare;
  options.next_events_per_second = 10;
  options.rate_period_s = 2;  // 1010 events every 2 s: 1000 in the first second, 10 in the next
  PipelineBuilder b("bids");
  b.FromNexmark(options).ToSqlite(BidSink(db_)).MaxRecordsPerPartition(1000);
  ASSERT_TRUE(testing::RunToEnd(b, data_).ok());
  EXPECT_EQ(Committed(), ExpectedBids(options));
  // The shape is in the times: event 1004 (a bid) is 4 x 100 ms after event 1000's 1 s.
  const int64_t base = options.base_time_ms;
  EXPECT_EQ(::onceflow::testing::SqliteTextRows(
                db_, "SELECT COUNT(*) FROM bid WHERE date_time = " + std::to_string(base + 1400)),
            (Rows{{"1"}}));
}

TEST_F(NexmarkPipelineTest, ARowTheComputeRefusesIsADeadLetterWithItsJsonRecord) {
  // The source hands the task rows (no text); a dead letter still holds the record's text, the
  // JSON the same source writes for that offset.
  const NexmarkSourceOptions options = Bids(5'000, 2);
  PipelineBuilder b("bids");
  b.FromNexmark(options)
      .Compute({{"odd", "1 / MOD(price, 2)"}})
      .Select({"auction", "price"})
      .ToSqlite({.path = db_,
                 .init = {"CREATE TABLE IF NOT EXISTS out(auction INTEGER, price INTEGER)"},
                 .table = "out"})
      .MaxRecordsPerPartition(1000);
  PipelineStats stats;
  ASSERT_TRUE(testing::RunToEnd(b, data_, &stats).ok());
  Rows kept, dead;
  source::nexmark::Event e;
  for (int64_t j = 0; j < source::nexmark::CountOf(NexmarkKind::kBid, options.events); ++j) {
    source::nexmark::Generate(options, source::nexmark::EventNumberOf(NexmarkKind::kBid, j), &e);
    if (e.price % 2 != 0) {
      kept.push_back({std::to_string(e.auction), std::to_string(e.price)});
      continue;
    }
    std::string json;
    source::nexmark::AppendJson(e, /*with_type=*/false, &json);
    dead.push_back({json, "compute: odd = '1 / MOD(price, 2)': column 3: division by zero"});
  }
  std::sort(kept.begin(), kept.end());
  std::sort(dead.begin(), dead.end());
  ASSERT_GT(dead.size(), 100u);
  auto sorted = [&](const std::string& sql) {
    Rows rows = ::onceflow::testing::SqliteTextRows(db_, sql);
    std::sort(rows.begin(), rows.end());
    return rows;
  };
  EXPECT_EQ(sorted("SELECT auction, price FROM out"), kept);
  EXPECT_EQ(sorted("SELECT raw, error FROM onceflow_dead_letters"), dead);
  EXPECT_EQ(stats.dead_letters, static_cast<int64_t>(dead.size()));
}

TEST_F(NexmarkPipelineTest, TheBlackholeCountsEveryRowOnceAndARunCanBeExtended) {
  auto run = [&](int64_t events) {
    PipelineBuilder b("bids");
    b.FromNexmark(Bids(events, 4)).ToBlackhole().MaxRecordsPerPartition(500);
    return testing::RunToEnd(b, data_);
  };
  ASSERT_TRUE(run(10'000).ok());
  ASSERT_TRUE(run(10'000).ok());  // nothing more to read
  sink::BlackholeSink sink(checkpoint::CheckpointDir(data_, "bids"));
  auto state = sink.ReadState();
  ASSERT_TRUE(state.has_value()) << state.error().ToString();
  EXPECT_EQ(state->at("bids").rows, 9'200);
  // More events of the same generator: the run goes on where it stopped.
  ASSERT_TRUE(run(25'000).ok());
  state = sink.ReadState();
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->at("bids").rows, 23'000);
}

TEST_F(NexmarkPipelineTest, AChangedGeneratorIsRefusedNamingBoth) {
  PipelineBuilder first("bids");
  first.FromNexmark(Bids(5'000, 2)).ToSqlite(BidSink(db_));
  ASSERT_TRUE(testing::RunToEnd(first, data_).ok());
  NexmarkSourceOptions other = Bids(5'000, 2);
  other.events_per_second = 1'000;  // other event times: other events
  PipelineBuilder second("bids");
  second.FromNexmark(other).ToSqlite(BidSink(db_));
  Status s = testing::RunToEnd(second, data_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("committed its offsets from nexmark generator 'bid' (model=1 "
                             "kind=bid partitions=2 events_per_second=10000000"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("but now reads nexmark generator 'bid' (model=1 kind=bid "
                             "partitions=2 events_per_second=1000 "),
            std::string::npos)
      << s.message();
  // Nothing more was written.
  EXPECT_EQ(Committed().size(), 4'600u);
}

TEST_F(NexmarkPipelineTest, FewerEventsThanCommittedIsRefusedAsALostRange) {
  PipelineBuilder first("bids");
  first.FromNexmark(Bids(5'000, 2)).ToBlackhole();
  ASSERT_TRUE(testing::RunToEnd(first, data_).ok());
  PipelineBuilder second("bids");
  second.FromNexmark(Bids(4'000, 2)).ToBlackhole();
  Status s = testing::RunToEnd(second, data_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the source ends at offset 1840 but the pipeline has read it up to "
                             "2300"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace onceflow::engine
