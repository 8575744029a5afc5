// Watermarks per input partition end to end: time-ordered chunks over several partitions have
// no late records, open windows emitted at the end exactly once through a crash, an idle
// partition, and a state store of the previous onceflow (one watermark per pipeline).
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "engine/state_pipeline_test_util.h"
#include "log/topic.h"
#include "state/state_format.h"

namespace onceflow::engine {
namespace {

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
PipelineBuilder OrderedWindowPipeline(const std::string& name, const std::string& db, bool at_end,
                                      int64_t idle_timeout_ms = 30000) {
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
  for (const std::string point : {"after_intent", "mid_sink_write", "after_sink_commit",
                                  "mid_state_commit", "before_commit_log"}) {
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
