// Running aggregates end to end on the embedded log, RocksDB and SQLite: exact counts and sums,
// with and without the state cache, across a restart; min, max, avg and bad values; map-side
// combining against folding row by row.
#include <gtest/gtest.h>

#include <optional>

#include "config/aggregate_function.h"
#include "engine/state_pipeline_test_util.h"
#include "log/topic.h"
#include "operators/aggregate_operator.h"

namespace onceflow::engine {
namespace {

TEST_F(StatePipelineTest, RunningCountAndSumPerKeyAreExact) {
  auto purchases = MakePurchases(3000, 40, 1);
  ProducePurchases(data_, "purchases", 3, purchases);
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_), &stats).ok());
  EXPECT_GT(stats.batches_committed, 5);
  EXPECT_EQ(stats.records_in, 3000);
  EXPECT_EQ(CheckSpend(db_, purchases), "");
}

TEST_F(StatePipelineTest, WithoutTheStateCacheEveryReadGoesToRocksDbAndStaysExact) {
  auto purchases = MakePurchases(2000, 40, 3);
  ProducePurchases(data_, "purchases", 3, purchases);
  PipelineBuilder b = SpendPipeline(db_);
  b.StateCacheMb(0);
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(std::move(b), &stats).ok());
  EXPECT_GT(stats.batches_committed, 5);
  EXPECT_EQ(CheckSpend(db_, purchases), "");
  EXPECT_FALSE(
      PipelineBuilder("x").FromLog({.topic = "purchases"}).StateCacheMb(-1).Build().has_value());
}

TEST_F(StatePipelineTest, StateSurvivesARestartWithoutRebuild) {
  auto first = MakePurchases(1500, 30, 2);
  ProducePurchases(data_, "purchases", 3, first);
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_)).ok());
  ASSERT_EQ(CheckSpend(db_, first), "");
  auto second = MakePurchases(700, 30, 3);
  ProducePurchases(data_, "purchases", 3, second);
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_), &stats).ok());
  // Only the new records were read: the counts continue from the stored state.
  EXPECT_EQ(stats.records_in, 700);
  EXPECT_EQ(stats.batches_replayed, 0);
  EXPECT_EQ(stats.records_reprocessed, 0);
  first.insert(first.end(), second.begin(), second.end());
  EXPECT_EQ(CheckSpend(db_, first), "");
}

TEST_F(StatePipelineTest, MinMaxAvgAndValuesThatCannotBeAggregated) {
  auto t = log::Topic::Create(data_, "m", log::TopicConfig{});
  ASSERT_TRUE(t.has_value());
  log::BatchBuilder b;
  for (const char* v :
       {R"({"k":"a","x":3})", R"({"k":"a","x":1.5})", R"({"k":"a","x":"no"})", R"({"k":"a"})",
        R"({"x":7})", R"({"k":"b","x":10})", R"({"k":"b","x":-4})"}) {
    b.Add(RecordView{std::nullopt, v, 0, {}});
  }
  ASSERT_TRUE((*(*t)->partition(PartitionId(0)))->Append(b.Finish()).has_value());
  SqliteSinkOptions sink;
  sink.path = db_;
  sink.init = {"CREATE TABLE IF NOT EXISTS m(k TEXT PRIMARY KEY, n INTEGER, lo REAL, hi REAL, "
               "mean REAL, total REAL)"};
  sink.mode = SinkMode::kUpsert;
  sink.table = "m";
  sink.key = {"k"};
  PipelineBuilder p("minmax");
  p.FromLog({.topic = "m"})
      .Aggregate({"k"}, {{"n", "count"},
                         {"lo", "min(x)"},
                         {"hi", "max(x)"},
                         {"mean", "avg(x)"},
                         {"total", "sum(x)"}})
      .ToSqlite(sink);
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(std::move(p), &stats).ok());
  // a: 3, 1.5 and a record without x (counted, not aggregated); "no" is a dead letter.
  std::vector<std::vector<std::string>> expected = {{"a", "3", "1.5", "3.0", "2.25", "4.5"},
                                                    {"b", "2", "-4.0", "10.0", "3.0", "6.0"}};
  EXPECT_EQ(QueryText(db_, "SELECT k, n, lo, hi, mean, total FROM m ORDER BY k"), expected);
  auto dead = QueryText(db_, "SELECT \"offset\", error FROM onceflow_dead_letters ORDER BY 1");
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0][0], "2");
  EXPECT_EQ(dead[0][1], "aggregate mean = avg(x): field 'x' is a string");
  EXPECT_EQ(dead[1][0], "4");
  EXPECT_EQ(dead[1][1], "aggregate: key field 'k' is missing");
}

// Map-side combining (the default without min/max) must give exactly what folding row by row
// gives: the same rows in the sink, the same dead letters, the same late records — over
// several partitions and batches, out-of-order event times, bad records, windows that slide.
struct AggregateRun {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<std::string>> dead;
  int64_t late = 0;
  int64_t records_in = 0;
};

AggregateRun RunAggregate(const std::string& data, const std::string& db, bool combine,
                          std::optional<WindowSpec> window, const std::string& name) {
  SqliteSinkOptions sink;
  sink.path = db;
  sink.init = {std::string("CREATE TABLE IF NOT EXISTS agg(user TEXT, window_start INTEGER, "
                           "n INTEGER, total INTEGER, mean REAL, PRIMARY KEY(user") +
               (window ? ", window_start))" : "))")};
  sink.mode = SinkMode::kUpsert;
  sink.table = "agg";
  sink.key = {"user"};
  if (window) sink.key.push_back("window_start");
  PipelineBuilder b(name);
  b.FromLog({.topic = "purchases"})
      .Aggregate({"user"}, {{"n", "count"}, {"total", "sum(amount)"}, {"mean", "avg(amount)"}},
                 window, combine)
      .ToSqlite(sink)
      .BatchInterval(std::chrono::milliseconds(1))
      .MaxRecordsPerPartition(97);
  AggregateRun out;
  auto p = b.Build();
  EXPECT_TRUE(p.has_value());
  if (!p.has_value()) return out;
  RunOptions o;
  o.data_dir = data;
  o.until_caught_up = true;
  o.on_log = [](const std::string&) {};
  const Status run = (*p)->Run(o);
  EXPECT_TRUE(run.ok()) << run.ToString();
  out.rows = QueryText(db, "SELECT user, window_start, n, total, mean FROM agg "
                           "ORDER BY user, window_start");
  out.dead = QueryText(db, "SELECT partition, \"offset\", raw, error FROM onceflow_dead_letters "
                           "ORDER BY partition, \"offset\", error");
  out.late = (*p)->stats().late_records;
  out.records_in = (*p)->stats().records_in;
  return out;
}

TEST_F(StatePipelineTest, MapSideCombiningGivesWhatFoldingRowByRowGives) {
  auto purchases = MakePurchases(3000, 60, 11, /*start_ts=*/0, /*step_ms=*/7, /*disorder_ms=*/900);
  ProducePurchases(data_, "purchases", 3, purchases);
  {
    // Bad records among the good: no user, an amount that is text, no event time.
    auto t = log::Topic::Open(data_, "purchases");
    ASSERT_TRUE(t.has_value());
    log::BatchBuilder b;
    for (const char* v : {R"({"amount":5,"ts":100})", R"({"user":"u1","amount":"x","ts":200})",
                          R"({"user":"u2","amount":3})"}) {
      b.Add(RecordView{std::nullopt, v, 0, {}});
    }
    ASSERT_TRUE((*(*t)->partition(PartitionId(1)))->Append(b.Finish()).has_value());
  }
  ProducePurchases(data_, "purchases", 3, MakePurchases(1000, 60, 12, 21000, 7, 900));
  for (const char* emit : {"", "update", "final"}) {
    SCOPED_TRACE(std::string("emit ") + (*emit != 0 ? emit : "(not windowed)"));
    std::optional<WindowSpec> w;
    if (*emit != 0) {
      w.emplace();
      w->type = WindowType::kSliding;
      w->size = std::chrono::milliseconds(1000);
      w->slide = std::chrono::milliseconds(250);
      w->time_field = "ts";
      w->allowed_lateness = std::chrono::milliseconds(300);
      w->emit = std::string(emit) == "final" ? WindowEmit::kFinal : WindowEmit::kUpdate;
    }
    const std::string tag = *emit != 0 ? emit : "plain";
    const AggregateRun combined =
        RunAggregate(data_, dir_.path() + "/c-" + tag + ".db", true, w, "c-" + tag);
    const AggregateRun row_by_row =
        RunAggregate(data_, dir_.path() + "/r-" + tag + ".db", false, w, "r-" + tag);
    EXPECT_EQ(combined.records_in, 4003);
    EXPECT_EQ(row_by_row.records_in, 4003);
    ASSERT_GE(combined.rows.size(), 60u);
    EXPECT_EQ(combined.rows, row_by_row.rows);
    EXPECT_EQ(combined.dead, row_by_row.dead);
    EXPECT_EQ(combined.late, row_by_row.late);
    if (w) {
      EXPECT_GT(combined.late, 0);  // the disorder is larger than the allowed lateness
      // Late records, the record without a user and the one without an event time; the text
      // amount at ts 200 comes after event times near 21000, so it is late first.
      EXPECT_EQ(combined.dead.size(), static_cast<size_t>(combined.late) + 2);
    } else {
      EXPECT_EQ(combined.dead.size(), 2u);  // without a window, a record needs no event time
      int64_t n = 0;
      for (const auto& r : combined.rows) n += std::stoll(r[2]);
      EXPECT_EQ(n, 4001);
    }
  }
}

TEST(AggregateCombiningTest, OnlyWithoutMinOrMaxAndWhenNotTurnedOff) {
  auto combiner_of = [](std::vector<std::pair<std::string, std::string>> aggs, bool combine) {
    config::AggregateConfig c;
    c.key = {"k"};
    for (auto& [name, fn] : aggs) {
      auto a = config::ParseAggregateFunction(fn);
      EXPECT_TRUE(a.has_value());
      a->name = name;
      c.aggregates.push_back(*a);
    }
    c.combine = combine;
    auto op = operators::AggregateOperator::Create(c);
    EXPECT_TRUE(op.has_value());
    return (*op)->NewCombiner(BatchId(0), INT64_MIN, 4) != nullptr;
  };
  EXPECT_TRUE(combiner_of({{"n", "count"}, {"s", "sum(x)"}, {"a", "avg(x)"}}, true));
  EXPECT_FALSE(combiner_of({{"n", "count"}, {"s", "sum(x)"}}, false));
  EXPECT_FALSE(combiner_of({{"n", "count"}, {"lo", "min(x)"}}, true));
  EXPECT_FALSE(combiner_of({{"hi", "max(x)"}}, true));
}

}  // namespace
}  // namespace onceflow::engine
