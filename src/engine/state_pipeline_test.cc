// Keyed state end to end on the embedded log, RocksDB and SQLite: running aggregates, windows
// on event time with watermarks, update_state — exact through crashes at every protocol step,
// including the one between the sink commit and the state commit.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <thread>

#include "log/topic.h"

#include "config/aggregate_function.h"
#include "operators/aggregate_operator.h"
#include "engine/engine_test_util.h"
#include "testing/purchases.h"
#include "testing/sqlite_query.h"
#include "onceflow/pipeline.h"
#include "state/state_format.h"
#include "util/fault_points.h"

namespace onceflow::engine {
namespace {

using ::onceflow::testing::CountAndSum;
using ::onceflow::testing::MakePurchases;
using ::onceflow::testing::ProducePurchases;
using ::onceflow::testing::Purchase;
using ::onceflow::testing::WindowSums;

constexpr auto QueryText = ::onceflow::testing::SqliteTextRows;

SqliteSinkOptions SpendSink(const std::string& db) {
  SqliteSinkOptions s;
  s.path = db;
  s.init = {"CREATE TABLE IF NOT EXISTS spend(user TEXT PRIMARY KEY, purchases INTEGER, "
            "spent INTEGER)"};
  s.mode = SinkMode::kUpsert;
  s.table = "spend";
  s.key = {"user"};
  return s;
}

SqliteSinkOptions WindowSink(const std::string& db) {
  SqliteSinkOptions s;
  s.path = db;
  s.init = {"CREATE TABLE IF NOT EXISTS windows(user TEXT, window_start INTEGER, window_end "
            "INTEGER, n INTEGER, total INTEGER, PRIMARY KEY(user, window_start))"};
  s.mode = SinkMode::kUpsert;
  s.table = "windows";
  s.key = {"user", "window_start"};
  return s;
}

PipelineBuilder SpendPipeline(const std::string& db, int64_t max_records = 100) {
  PipelineBuilder b("spend");
  b.FromLog({.topic = "purchases"})
      .Aggregate({"user"}, {{"purchases", "count"}, {"spent", "sum(amount)"}})
      .ToSqlite(SpendSink(db))
      .BatchInterval(std::chrono::milliseconds(1))
      .MaxRecordsPerPartition(max_records);
  return b;
}

// "" if the spend table holds exactly the counts and sums of `purchases`, else what differs.
std::string CheckSpend(const std::string& db, const std::vector<Purchase>& purchases) {
  auto expected = CountAndSum(purchases);
  auto rows = QueryText(db, "SELECT user, purchases, spent FROM spend ORDER BY user");
  if (rows.size() != expected.size()) {
    return std::to_string(rows.size()) + " users, expected " + std::to_string(expected.size());
  }
  for (const auto& r : rows) {
    auto it = expected.find(r[0]);
    if (it == expected.end()) return "unexpected user " + r[0];
    if (std::stoll(r[1]) != it->second.first || std::stoll(r[2]) != it->second.second) {
      return r[0] + ": " + r[1] + " purchases, " + r[2] + " spent; expected " +
             std::to_string(it->second.first) + ", " + std::to_string(it->second.second);
    }
  }
  return "";
}

class StatePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/spend.db";
  }
  void TearDown() override { faults::DisarmAll(); }

  Status RunToEnd(PipelineBuilder&& builder, PipelineStats* stats = nullptr,
                  std::vector<std::string>* log = nullptr, const std::string& data = "") {
    auto p = builder.Build();
    if (!p.has_value()) return p.error();
    RunOptions o;
    o.data_dir = data.empty() ? data_ : data;
    o.until_caught_up = true;
    o.on_log = [log](const std::string& line) {
      if (log != nullptr) log->push_back(line);
    };
    Status s = (*p)->Run(o);
    if (stats != nullptr) *stats = (*p)->stats();
    return s;
  }

  log::testing::TempDir dir_;
  std::string data_, db_;
};

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
  EXPECT_FALSE(PipelineBuilder("x").FromLog({.topic = "purchases"}).StateCacheMb(-1).Build().has_value());
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

// A child process runs the spend pipeline with `faults_spec` armed.
int RunSpendChild(const std::string& data, const std::string& db, const std::string& faults_spec) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!faults::Arm(faults_spec).ok()) ::_exit(3);
    auto p = SpendPipeline(db, 40).Build();
    RunOptions o;
    o.data_dir = data;
    o.until_caught_up = true;
    o.on_log = [](const std::string&) {};
    ::_exit((*p)->Run(o).ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(StatePipelineTest, CrashAtEveryFaultPointKeepsExactAggregates) {
  auto purchases = MakePurchases(1200, 25, 4);
  ProducePurchases(data_, "purchases", 3, purchases);
  for (const std::string& point : faults::PipelinePoints()) {
    const std::string db = dir_.path() + "/crash-" + point + ".db";
    const std::string data = dir_.path() + "/data-" + point;
    ASSERT_EQ(std::system(("cp -r " + data_ + " " + data).c_str()), 0);
    EXPECT_EQ(RunSpendChild(data, db, point + "=crash#2"), faults::kCrashExitCode) << point;
    EXPECT_EQ(RunSpendChild(data, db, point + "=crash#5"), faults::kCrashExitCode) << point;
    EXPECT_EQ(RunSpendChild(data, db, ""), 0) << point;
    EXPECT_EQ(CheckSpend(db, purchases), "") << point;
  }
}

TEST_F(StatePipelineTest, CrashBetweenSinkAndStateCommitReRunsOneBatchFromTheState) {
  auto purchases = MakePurchases(1200, 25, 5);
  ProducePurchases(data_, "purchases", 3, purchases);
  // Batch 2 reaches the sink, not the state store.
  ASSERT_EQ(RunSpendChild(data_, db_, "after_sink_commit=crash#3"), faults::kCrashExitCode);
  PipelineStats stats;
  std::vector<std::string> log;
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_, 40), &stats, &log).ok());
  bool found = false;
  for (const auto& line : log) {
    if (line.find("re-running unfinished batch 2 from the state of batch 1") != std::string::npos) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << (log.empty() ? "" : log[0]);
  // Recovery work is one batch: its output skipped by the sink, its state applied.
  EXPECT_EQ(stats.batches_replayed, 1);
  EXPECT_LE(stats.records_reprocessed, 3 * 40);
  EXPECT_GT(stats.records_reprocessed, 0);
  EXPECT_EQ(stats.already_committed, 1);
  EXPECT_EQ(CheckSpend(db_, purchases), "");
}

TEST_F(StatePipelineTest, FailedStateCommitIsRetriedFromThePreviousBatchsState) {
  auto purchases = MakePurchases(1200, 25, 7);
  ProducePurchases(data_, "purchases", 3, purchases);
  // Batch 2's state commit fails after its sink commit: the retry recomputes it from the state
  // of batch 1 (the cache of committed values must not hold batch 2's deltas), the sink skips
  // it, and its state is applied once.
  ASSERT_TRUE(faults::Arm("mid_state_commit=throw#3").ok());
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_, 40), &stats).ok());
  EXPECT_EQ(stats.batch_retries, 1);
  EXPECT_EQ(stats.already_committed, 1);
  EXPECT_EQ(CheckSpend(db_, purchases), "");
}

// The crash of the test above, in a child (a test of its own: a child is forked before this
// process starts threads, which ThreadSanitizer requires): recovery re-runs the batch from the
// state on disk.
TEST_F(StatePipelineTest, CrashInTheStateCommitIsReRunFromThePreviousBatchsState) {
  auto purchases = MakePurchases(1200, 25, 7);
  const std::string data = dir_.path() + "/data-crash";
  const std::string db = dir_.path() + "/crash.db";
  ProducePurchases(data, "purchases", 3, purchases);
  EXPECT_EQ(RunSpendChild(data, db, "mid_state_commit=crash#3"), faults::kCrashExitCode);
  EXPECT_EQ(RunSpendChild(data, db, ""), 0);
  EXPECT_EQ(CheckSpend(db, purchases), "");
}

TEST_F(StatePipelineTest, CrashAfterTheStateCommitOnlyRecordsTheBatch) {
  auto purchases = MakePurchases(600, 10, 6);
  ProducePurchases(data_, "purchases", 3, purchases);
  ASSERT_EQ(RunSpendChild(data_, db_, "after_state_commit=crash#2"), faults::kCrashExitCode);
  PipelineStats stats;
  std::vector<std::string> log;
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_, 40), &stats, &log).ok());
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("batch 1 is in the sink and the state store"), std::string::npos) << log[0];
  EXPECT_EQ(stats.batches_replayed, 0);
  EXPECT_EQ(stats.records_reprocessed, 0);
  EXPECT_EQ(CheckSpend(db_, purchases), "");
}

TEST_F(StatePipelineTest, LostStateIsRefusedNotRebuiltWrong) {
  auto purchases = MakePurchases(300, 10, 7);
  ProducePurchases(data_, "purchases", 3, purchases);
  ASSERT_TRUE(RunToEnd(SpendPipeline(db_)).ok());
  ASSERT_TRUE(RemoveAll(data_ + "/pipelines/spend/state").ok());
  ProducePurchases(data_, "purchases", 3, MakePurchases(10, 10, 8));
  Status s = RunToEnd(SpendPipeline(db_));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the state cannot be rebuilt"), std::string::npos) << s.ToString();
  EXPECT_EQ(CheckSpend(db_, purchases), "");  // nothing written
}

// One partition, 5 records per batch: batch boundaries, hence watermarks, are known.
//   batch 0: ts 100 900 1500 300 2600   -> max 2600, watermark after: 2100
//   batch 1: ts 2200 1900* 2050* 2999 3400 (* older than the watermark 2100: late)
//   batch 2: ts 4000 3000
std::vector<Purchase> WindowWorkload() {
  return {{"u1", 1, 100},  {"u2", 2, 900},  {"u1", 3, 1500}, {"u1", 4, 300},  {"u2", 5, 2600},
          {"u1", 10, 2200}, {"u1", 7, 1900}, {"u2", 8, 2050}, {"u2", 1, 2999}, {"u1", 2, 3400},
          {"u1", 1, 4000}, {"u2", 4, 3000}};
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

std::vector<std::vector<std::string>> Windows(const std::string& db) {
  return QueryText(db, "SELECT user, window_start, window_end, n, total FROM windows "
                       "ORDER BY window_start, user");
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
            [](const std::string& user, std::optional<int64_t>& total,
               std::span<const Row> values, const BatchContext&) {
              if (values.empty()) {  // timing out
                return std::vector<Row>{{{"user", user}, {"total", *total}, {"expired", int64_t{1}}}};
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

TEST_F(StatePipelineTest, MinMaxAvgAndValuesThatCannotBeAggregated) {
  auto t = log::Topic::Create(data_, "m", log::TopicConfig{});
  ASSERT_TRUE(t.has_value());
  log::BatchBuilder b;
  for (const char* v : {R"({"k":"a","x":3})", R"({"k":"a","x":1.5})", R"({"k":"a","x":"no"})",
                        R"({"k":"a"})", R"({"x":7})", R"({"k":"b","x":10})",
                        R"({"k":"b","x":-4})"}) {
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
      .Aggregate({"k"}, {{"n", "count"}, {"lo", "min(x)"}, {"hi", "max(x)"}, {"mean", "avg(x)"},
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
    const AggregateRun combined = RunAggregate(data_, dir_.path() + "/c-" + tag + ".db", true, w, "c-" + tag);
    const AggregateRun row_by_row = RunAggregate(data_, dir_.path() + "/r-" + tag + ".db", false, w,
                                                 "r-" + tag);
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

// ---- Watermarks per input partition ----

// Appends `purchases` (time-ordered) as `onceflow produce` spreads lines without a key: chunks
// of `chunk` records, one partition after the other.
void ProduceChunks(const std::string& data, const std::string& topic, int partitions,
                   const std::vector<Purchase>& purchases, size_t chunk) {
  auto t = log::Topic::Open(data, topic);
  if (!t.has_value()) {
    log::TopicConfig c;
    c.partitions = partitions;
    t = log::Topic::Create(data, topic, c);
  }
  ASSERT_TRUE(t.has_value());
  for (size_t first = 0, k = 0; first < purchases.size(); first += chunk, ++k) {
    log::BatchBuilder b;
    std::vector<std::string> values;
    for (size_t i = first; i < std::min(purchases.size(), first + chunk); ++i) {
      const Purchase& p = purchases[i];
      values.push_back("{\"user\":\"" + p.user + "\",\"amount\":" + std::to_string(p.amount) +
                       ",\"ts\":" + std::to_string(p.ts) + "}");
    }
    for (const std::string& v : values) b.Add(RecordView{std::nullopt, v, 0, {}});
    const PartitionId p(static_cast<int32_t>(k % static_cast<size_t>(partitions)));
    ASSERT_TRUE((*(*t)->partition(p))->Append(b.Finish()).has_value());
  }
}

// Every window of `purchases` once, as the append sink below stores them.
std::vector<std::vector<std::string>> AllWindows(const std::vector<Purchase>& purchases,
                                                 int64_t size) {
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> sorted;
  for (const auto& [k, v] : WindowSums(purchases, size)) {
    sorted[{std::get<1>(k), std::get<0>(k)}] = v;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : sorted) {
    rows.push_back({k.second, std::to_string(k.first), std::to_string(k.first + size),
                    std::to_string(v.first), std::to_string(v.second)});
  }
  return rows;
}

// A window emitted twice would be two rows here (no key to overwrite it).
PipelineBuilder OrderedWindowPipeline(const std::string& name, const std::string& db,
                                      bool at_end, int64_t idle_timeout_ms = 30000) {
  SqliteSinkOptions sink;
  sink.path = db;
  sink.init = {"CREATE TABLE IF NOT EXISTS windows(user TEXT, window_start INTEGER, window_end "
               "INTEGER, n INTEGER, total INTEGER)"};
  sink.mode = SinkMode::kAppend;
  sink.table = "windows";
  WindowSpec w;
  w.type = WindowType::kTumbling;
  w.size = std::chrono::milliseconds(60000);
  w.time_field = "ts";
  w.emit = WindowEmit::kFinal;
  w.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  w.emit_open_windows_at_end = at_end;
  PipelineBuilder b(name);
  b.FromLog({.topic = "purchases"})
      .Aggregate({"user"}, {{"n", "count"}, {"total", "sum(amount)"}}, w)
      .ToSqlite(sink)
      .BatchInterval(std::chrono::milliseconds(1))
      .MaxRecordsPerPartition(97);
  return b;
}

// Time-ordered purchases, one every 100 ms of event time.
std::vector<Purchase> OrderedPurchases(int n, int64_t start_ts = 0) {
  std::vector<Purchase> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({"u" + std::to_string(i % 5), i % 7 + 1, start_ts + int64_t{i} * 100});
  }
  return out;
}

TEST_F(StatePipelineTest, TimeOrderedChunksOverFourPartitionsHaveNoLateRecords) {
  // One watermark per pipeline made ~5% of these late: a partition read ahead of the others
  // pushed it past the records the others had not read yet.
  const auto purchases = OrderedPurchases(4000);
  ProduceChunks(data_, "purchases", 4, purchases, 300);
  PipelineStats stats;
  std::vector<std::string> log;
  ASSERT_TRUE(RunToEnd(OrderedWindowPipeline("ordered", db_, /*at_end=*/true), &stats, &log).ok());
  EXPECT_EQ(stats.records_in, 4000);
  EXPECT_EQ(stats.late_records, 0);
  EXPECT_EQ(stats.dead_letters, 0);
  EXPECT_EQ(QueryText(db_, "SELECT COUNT(*) FROM onceflow_dead_letters")[0][0], "0");
  // Every window exactly once, the last ones emitted by the batch that closes them at the end.
  EXPECT_EQ(QueryText(db_, "SELECT user, window_start, window_end, n, total FROM windows "
                           "ORDER BY window_start, user"),
            AllWindows(purchases, 60000));
  bool closed = false;
  for (const std::string& line : log) {
    if (line.find("closes the event-time windows still open") != std::string::npos) closed = true;
  }
  EXPECT_TRUE(closed);
}

// Runs the pipeline to its end in a child (forked while this process has no threads, so that
// every run of the test below is a child). Returns the child's exit code: 86 for an injected
// crash, 1 for an error, else 0 — or, with report_batches, 10 + the batches it committed.
int RunOrderedChild(const std::string& data, const std::string& db, const std::string& faults_spec,
                    bool at_end, bool report_batches = false) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!faults::Arm(faults_spec).ok()) ::_exit(3);
    auto p = OrderedWindowPipeline("ordered", db, at_end).Build();
    RunOptions o;
    o.data_dir = data;
    o.until_caught_up = true;
    o.on_log = [](const std::string&) {};
    if (!(*p)->Run(o).ok()) ::_exit(1);
    ::_exit(report_batches
                ? 10 + static_cast<int>(std::min<int64_t>((*p)->stats().batches_committed, 50))
                : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(StatePipelineTest, OpenWindowsAreEmittedAtTheEndExactlyOnceThroughACrash) {
  const auto purchases = OrderedPurchases(1000);
  const size_t all = AllWindows(purchases, 60000).size();
  for (const std::string point :
       {"after_intent", "mid_sink_write", "after_sink_commit", "mid_state_commit",
        "before_commit_log"}) {
    SCOPED_TRACE(point);
    const std::string data = dir_.path() + "/data-" + point;
    const std::string db = dir_.path() + "/" + point + ".db";
    ProduceChunks(data, "purchases", 4, purchases, 100);
    // Without the option the last windows stay open ...
    ASSERT_EQ(RunOrderedChild(data, db, "", /*at_end=*/false), 0);
    const auto before = QueryText(db, "SELECT COUNT(*) FROM windows")[0][0];
    EXPECT_LT(std::stoll(before), static_cast<int64_t>(all));
    // ... with it, the run's only batch closes them; it crashes at `point` and is re-run.
    EXPECT_EQ(RunOrderedChild(data, db, point + "=crash#1", true), faults::kCrashExitCode);
    ASSERT_EQ(RunOrderedChild(data, db, "", true), 0);
    EXPECT_EQ(QueryText(db, "SELECT user, window_start, window_end, n, total FROM windows "
                            "ORDER BY window_start, user"),
              AllWindows(purchases, 60000));
    // Nothing is left to close: a further run commits no batch.
    EXPECT_EQ(RunOrderedChild(data, db, "", true, /*report_batches=*/true), 10);
    // A record for a closed window is late now, never a second row for it.
    ProduceChunks(data, "purchases", 4, {{"u0", 1, 5000}}, 1);
    EXPECT_EQ(RunOrderedChild(data, db, "", true, /*report_batches=*/true), 11);
    EXPECT_EQ(QueryText(db, "SELECT COUNT(*) FROM onceflow_dead_letters WHERE error LIKE "
                            "'late record: event time 5000 is before the watermark 120000%'")[0][0],
              "1");
    EXPECT_EQ(QueryText(db, "SELECT COUNT(*) FROM windows")[0][0], std::to_string(all));
  }
}

TEST_F(StatePipelineTest, AnIdlePartitionStopsHoldingTheWatermarkBack) {
  // Both partitions have event times up to 9.9 s; then only partition 0 goes on, to 129.9 s.
  auto early = OrderedPurchases(100);
  auto late = OrderedPurchases(1200, 10000);
  for (const int64_t idle_ms : {int64_t{0}, int64_t{3600000}}) {
    SCOPED_TRACE("idle_timeout " + std::to_string(idle_ms));
    const std::string data = dir_.path() + "/data-" + std::to_string(idle_ms);
    const std::string db = dir_.path() + "/idle-" + std::to_string(idle_ms) + ".db";
    ProduceChunks(data, "purchases", 2, early, 50);
    ASSERT_TRUE(
        RunToEnd(OrderedWindowPipeline("idle", db, false, idle_ms), nullptr, nullptr, data).ok());
    // Partition 0 only (chunks larger than the rest: all of it lands on partition 0).
    ProduceChunks(data, "purchases", 2, late, late.size());
    PipelineStats stats;
    ASSERT_TRUE(
        RunToEnd(OrderedWindowPipeline("idle", db, false, idle_ms), &stats, nullptr, data).ok());
    EXPECT_EQ(stats.late_records, 0);
    const auto windows = QueryText(db, "SELECT DISTINCT window_start FROM windows ORDER BY 1");
    if (idle_ms == 0) {
      // Partition 1 is idle: partition 0's event times close [0, 60 s) and [60 s, 120 s).
      ASSERT_EQ(windows.size(), 2u);
      EXPECT_EQ(windows[1][0], "60000");
    } else {
      // Partition 1 still holds the watermark at 9.9 s: nothing is closed.
      EXPECT_TRUE(windows.empty());
    }
  }
}

// A state store of the previous onceflow has one max event time for the pipeline and no
// per-partition times. Its first batch after the upgrade (maybe the re-run of a batch that
// onceflow committed to the sink) closes what the old rule closed; later batches follow the
// partitions.
TEST_F(StatePipelineTest, AStoreOfThePreviousOnceflowClosesWhatItsRuleClosed) {
  auto pipeline = [&](bool at_end) {
    PipelineBuilder b("upgrade");
    WindowSpec w;
    w.type = WindowType::kTumbling;
    w.size = std::chrono::milliseconds(1000);
    w.time_field = "ts";
    w.emit = WindowEmit::kFinal;
    w.emit_open_windows_at_end = at_end;
    b.FromLog({.topic = "purchases"})
        .Aggregate({"user"}, {{"n", "count"}, {"total", "sum(amount)"}}, w)
        .ToSqlite(WindowSink(db_))
        .BatchInterval(std::chrono::milliseconds(1));
    return b;
  };
  // What the previous onceflow leaves: format 1, Xmax_event_time, no Xevent_times.
  auto make_old = [&] {
    rocksdb::DB* raw = nullptr;
    const std::string state = data_ + "/pipelines/upgrade/state";
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), state, &raw).ok()) << state;
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string max;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), state::MetaKey("max_event_time"), &max).ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), state::MetaKey("event_times")).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), state::MetaKey("format"), "1").ok());
  };
  ProduceChunks(data_, "purchases", 2, {{"u1", 1, 1000}, {"u1", 2, 100000}}, 1);
  ASSERT_TRUE(RunToEnd(pipeline(false)).ok());
  EXPECT_TRUE(Windows(db_).empty());  // partition 0 holds the watermark at 1000
  make_old();
  ProduceChunks(data_, "purchases", 2, {{"u2", 3, 200000}}, 1);  // partition 0
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(pipeline(false), &stats).ok());
  EXPECT_EQ(stats.late_records, 0);
  // The old rule: the watermark is 200000, past both windows of u1.
  std::vector<std::vector<std::string>> expected = {{"u1", "1000", "2000", "1", "1"},
                                                    {"u1", "100000", "101000", "1", "2"}};
  EXPECT_EQ(Windows(db_), expected);
  // The open window of an old store is closed at the end too, from its one max event time.
  make_old();
  ASSERT_TRUE(RunToEnd(pipeline(true), &stats).ok());
  EXPECT_EQ(stats.batches_committed, 1);
  expected.push_back({"u2", "200000", "201000", "1", "3"});
  EXPECT_EQ(Windows(db_), expected);
}

}  // namespace
}  // namespace onceflow::engine
