// The engine end to end on the embedded log and SQLite: the bank-transfer ledger must be
// exact through retries, speculation, injected failures at every protocol step, crashes and
// lost checkpoints.
#include "onceflow/pipeline.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "checkpoint/checkpoint.h"
#include "engine/engine_test_util.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow::engine {
namespace {

using ::onceflow::testing::CheckLedger;
using ::onceflow::testing::ProduceTransfers;
using testing::LedgerSink;
constexpr auto Query = ::onceflow::testing::SqliteInts;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/bank.db";
  }
  void TearDown() override { faults::DisarmAll(); }

  PipelineBuilder Ledger() {
    PipelineBuilder b("ledger");
    b.FromLog({.topic = "transfers"})
        .ToSqlite(LedgerSink(db_))
        .BatchInterval(std::chrono::milliseconds(1))
        .MaxRecordsPerPartition(50)
        .Speculation(true, 3.0, std::chrono::milliseconds(30));
    return b;
  }

  Status RunToEnd(PipelineBuilder&& builder, PipelineStats* stats = nullptr) {
    return RunToEnd(builder, stats);
  }
  Status RunToEnd(PipelineBuilder& builder, PipelineStats* stats = nullptr) {
    return testing::RunToEnd(builder, data_, stats);
  }

  log::testing::TempDir dir_;
  std::string data_, db_;
};

TEST_F(PipelineTest, LedgerIsExact) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 2000, 50);
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(Ledger(), &stats).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
  EXPECT_EQ(stats.records_in, 2000);
  EXPECT_GE(stats.batches_committed, 2000 / (4 * 50));
  // More data later continues exactly where it stopped.
  auto more = ProduceTransfers(data_, "transfers", 4, 500, 50, /*seed=*/2, /*first_id=*/2000);
  transfers.insert(transfers.end(), more.begin(), more.end());
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
}

TEST_F(PipelineTest, FailedTaskAttemptsAreRetried) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 1500, 30);
  ASSERT_TRUE(faults::Arm("task=throw@0.3").ok());
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(Ledger().MaxTaskFailures(30), &stats).ok());
  EXPECT_GT(stats.task_failures, 0);
  EXPECT_EQ(CheckLedger(db_, transfers), "");
}

TEST_F(PipelineTest, SpeculativeTwinsDoNotDuplicate) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 1500, 30);
  for (const char* mode : {"batch", "task"}) {
    // ~10 batches of 4 tasks, 30% of attempts slow: a batch with one or two slow tasks (which
    // is what triggers a twin) is all but certain (P(none) ~ 1e-5).
    ASSERT_TRUE(faults::Arm("task=slow:150ms@0.3").ok());
    const std::string db = dir_.path() + "/" + mode + ".db";
    PipelineBuilder b(std::string("spec-") + mode);
    b.FromLog({.topic = "transfers"})
        .ToSqlite(LedgerSink(db))
        .BatchInterval(std::chrono::milliseconds(1))
        .MaxRecordsPerPartition(40)
        .ExecutorThreads(4)
        .CommitMode(std::string(mode) == "task" ? CommitMode::kTask : CommitMode::kBatch)
        .Speculation(true, 2.0, std::chrono::milliseconds(20));
    PipelineStats stats;
    ASSERT_TRUE(RunToEnd(std::move(b), &stats).ok());
    EXPECT_GT(stats.speculative_attempts, 0) << mode;
    EXPECT_EQ(CheckLedger(db, transfers), "") << mode;
  }
}

TEST_F(PipelineTest, EveryProtocolStepSurvivesAnInjectedFailure) {
  auto transfers = ProduceTransfers(data_, "transfers", 3, 900, 20);
  for (const char* point : {"task", "mid_sink_write", "before_sink_commit", "after_sink_commit",
                            "after_state_commit", "before_commit_log"}) {
    // The 3rd hit fails; the batch (or the task) is retried and must not apply twice.
    ASSERT_TRUE(faults::Arm(std::string(point) + "=throw#3").ok());
    const std::string db = dir_.path() + "/" + point + ".db";
    PipelineBuilder b(std::string("p-") + point);
    b.FromLog({.topic = "transfers"}).ToSqlite(LedgerSink(db)).MaxRecordsPerPartition(100);
    PipelineStats stats;
    Status s = RunToEnd(std::move(b), &stats);
    if (std::string(point) == "after_state_commit" || std::string(point) == "before_commit_log") {
      // A failure after the sink commit stops the run (it is past the retry loop; of the
      // 3 batches, the 3rd fails); the restart re-runs the batch, which the sink reports as already
      // committed.
      ASSERT_FALSE(s.ok()) << point << ": the armed failure did not stop the run";
      faults::DisarmAll();
      PipelineBuilder again(std::string("p-") + point);
      again.FromLog({.topic = "transfers"}).ToSqlite(LedgerSink(db)).MaxRecordsPerPartition(100);
      ASSERT_TRUE(RunToEnd(std::move(again), &stats).ok());
      EXPECT_GT(stats.already_committed, 0) << point;
    } else {
      ASSERT_TRUE(s.ok()) << point << ": " << s.ToString();
    }
    EXPECT_EQ(CheckLedger(db, transfers), "") << point;
    if (std::string(point) == "after_sink_commit") {
      EXPECT_GT(stats.already_committed, 0);
    }
    faults::DisarmAll();
  }
}

TEST_F(PipelineTest, ExhaustedRetriesStopWithNothingCommittedPastTheLastGoodBatch) {
  auto transfers = ProduceTransfers(data_, "transfers", 2, 400, 10);
  ASSERT_TRUE(faults::Arm("task=throw#5").ok());  // fine for 4 hits, then...
  ASSERT_TRUE(faults::Arm("task=throw").ok());    // ... every attempt fails
  Status s = RunToEnd(Ledger().MaxTaskFailures(2).MaxBatchFailures(2));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("batch 0 failed"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("nothing was committed past batch -1"), std::string::npos);
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM ledger")[0][0], 0);
  faults::DisarmAll();
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
}

// A child process runs the pipeline with `point` armed to crash at its Nth hit.
int RunChild(const std::string& data, const std::string& db, const std::string& faults_spec) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!faults::Arm(faults_spec).ok()) ::_exit(3);
    PipelineBuilder b("ledger");
    b.FromLog({.topic = "transfers"}).ToSqlite(LedgerSink(db)).MaxRecordsPerPartition(40);
    auto p = b.Build();
    RunOptions o;
    o.data_dir = data;
    o.until_caught_up = true;
    o.on_log = [](const std::string&) {};
    Status s = (*p)->Run(o);
    ::_exit(s.ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(PipelineTest, CrashAtEveryFaultPointRecoversExactly) {
  auto transfers = ProduceTransfers(data_, "transfers", 3, 1200, 25);
  for (const std::string& point : faults::PipelinePoints()) {
    const std::string db = dir_.path() + "/crash-" + point + ".db";
    const std::string data = dir_.path() + "/data-" + point;
    ASSERT_EQ(std::system(("cp -r " + data_ + " " + data).c_str()), 0);
    // Crash at the 2nd, then the 5th hit, then run clean to the end.
    EXPECT_EQ(RunChild(data, db, point + "=crash#2"), faults::kCrashExitCode) << point;
    EXPECT_EQ(RunChild(data, db, point + "=crash#5"), faults::kCrashExitCode) << point;
    EXPECT_EQ(RunChild(data, db, ""), 0) << point;
    EXPECT_EQ(CheckLedger(db, transfers), "") << point;
  }
}

TEST_F(PipelineTest, LostCheckpointResumesFromTheSinkProgressRows) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 1000, 20);
  {
    auto p = Ledger().Build();
    RunOptions o;
    o.data_dir = data_;
    o.max_batches = 3;
    o.on_log = [](const std::string&) {};
    ASSERT_TRUE((*p)->Run(o).ok());
  }
  const int64_t partial = Query(db_, "SELECT COUNT(*) FROM ledger")[0][0];
  EXPECT_GT(partial, 0);
  EXPECT_LT(partial, 1000);
  ASSERT_TRUE(RemoveAll(checkpoint::CheckpointDir(data_, "ledger")).ok());
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
}

// Runs at most `batches` batches of `builder`'s pipeline on `data`; returns how it ended.
Status RunBatches(const std::string& data, PipelineBuilder&& builder, int64_t batches) {
  auto p = builder.Build();
  if (!p.has_value()) return p.error();
  RunOptions o;
  o.data_dir = data;
  o.max_batches = batches;
  o.on_log = [](const std::string&) {};
  return (*p)->Run(o);
}

TEST_F(PipelineTest, DeletedSinkDatabaseIsRefusedUntilThePipelineIsReset) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 1000, 20);
  ASSERT_TRUE(RunBatches(data_, Ledger(), 3).ok());
  ASSERT_GT(Query(db_, "SELECT COUNT(*) FROM ledger")[0][0], 0);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_ + suffix);
  // Before: a new, empty database and "caught up" with the first batches' rows gone for good.
  Status s = RunToEnd(Ledger());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_NE(s.message().find("sqlite " + db_ +
                             ": the sink has no progress rows of pipeline "
                             "'ledger', but the checkpoint " +
                             checkpoint::CheckpointDir(data_, "ledger") +
                             " has committed batches up to 2"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("To write everything again into this sink, delete the checkpoint "
                             "directory " +
                             checkpoint::CheckpointDir(data_, "ledger") +
                             " and the sink's progress rows of pipeline 'ledger'"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM ledger")[0][0], 0);
  // The CLI names its reset verb instead.
  auto named = Ledger().Build();
  RunOptions o;
  o.data_dir = data_;
  o.until_caught_up = true;
  o.on_log = [](const std::string&) {};
  o.reset_command = "onceflow reset ledger.toml --yes";
  s = (*named)->Run(o);
  EXPECT_NE(s.message().find("To write everything again into this sink, run 'onceflow reset "
                             "ledger.toml --yes': the next run starts again at starting_offsets"),
            std::string::npos)
      << s.message();
  // Starting over deliberately (what the reset verb does to the checkpoint) writes it all.
  ASSERT_TRUE(RemoveAll(checkpoint::CheckpointDir(data_, "ledger")).ok());
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
}

TEST_F(PipelineTest, SinkRestoredFromAnOlderCopyIsRefused) {
  ProduceTransfers(data_, "transfers", 4, 1000, 20);
  ASSERT_TRUE(RunBatches(data_, Ledger(), 2).ok());
  // A copy of the database as it stands (its file and its WAL, as a file-level backup).
  const std::string backup = dir_.path() + "/backup";
  std::filesystem::create_directory(backup);
  for (const char* suffix : {"", "-wal"}) {
    if (PathExists(db_ + suffix)) std::filesystem::copy_file(db_ + suffix, backup + "/db" + suffix);
  }
  ASSERT_TRUE(RunBatches(data_, Ledger(), 2).ok());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(db_ + suffix);
    if (PathExists(backup + "/db" + suffix)) {
      std::filesystem::copy_file(backup + "/db" + suffix, db_ + suffix);
    }
  }
  const int64_t rows = Query(db_, "SELECT COUNT(*) FROM ledger")[0][0];
  // Before: the pipeline went on after batch 3 with batches 2 and 3 missing from the sink.
  Status s = RunToEnd(Ledger());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_NE(s.message().find("the sink's progress rows reach only offset "), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("has committed batches up to 3"), std::string::npos) << s.message();
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM ledger")[0][0], rows);
}

TEST_F(PipelineTest, SinkWithoutTheRowOfAPartitionThePipelineReadIsRefused) {
  log::TopicConfig config;
  config.partitions = 2;
  auto topic = log::Topic::Create(data_, "transfers", config);
  ASSERT_TRUE(topic.has_value()) << topic.error().ToString();
  int64_t next_id = 0;
  auto append = [&](int32_t partition, int n) {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i, ++next_id) {
      values.push_back("{\"id\":" + std::to_string(next_id) + ",\"from\":1,\"to\":2,\"amount\":1}");
    }
    std::vector<RecordView> records(values.size());
    for (size_t i = 0; i < values.size(); ++i) records[i].value = values[i];
    ASSERT_TRUE((*(*topic)->partition(PartitionId(partition)))->Append(records).has_value());
  };
  // Partition 1 is read in the second run only; the last batch has an empty range there.
  append(0, 40);
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  append(1, 30);
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  append(0, 20);
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  // The sink loses partition 1's progress row (and so what it knows of that output).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "DELETE FROM onceflow_progress WHERE task = 1", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  append(1, 5);
  Status s = RunToEnd(Ledger());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_NE(s.message().find("the sink has no progress row for partition 1 (committed up to "
                             "offset 30)"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM ledger")[0][0], 90);
}

TEST_F(PipelineTest, ChangedSourceTopicIsRefusedNamingBothTopics) {
  ProduceTransfers(data_, "transfers", 2, 400, 20);
  ProduceTransfers(data_, "other", 2, 400, 20);
  ASSERT_TRUE(RunBatches(data_, Ledger(), 2).ok());
  const int64_t rows = Query(db_, "SELECT COUNT(*) FROM ledger")[0][0];
  PipelineBuilder moved("ledger");
  moved.FromLog({.topic = "other"}).ToSqlite(LedgerSink(db_)).MaxRecordsPerPartition(50);
  // Before: offsets of "transfers" applied to "other", its first records skipped.
  Status s = RunToEnd(moved);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("log topic 'transfers'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("log topic 'other'"), std::string::npos) << s.message();
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM ledger")[0][0], rows);
}

TEST_F(PipelineTest, MalformedRecordsGoToTheDeadLetterTable) {
  auto transfers = ProduceTransfers(data_, "transfers", 1, 100, 5);
  {
    auto t = log::Topic::Open(data_, "transfers").value();
    RecordView bad;
    bad.value = "{not json";
    (void)(*t->partition(PartitionId(0)))->Append(std::span<const RecordView>(&bad, 1));
    RecordView missing;
    missing.value = "{\"id\":1000,\"from\":1}";  // no "to", no "amount": cannot bind
    (void)(*t->partition(PartitionId(0)))->Append(std::span<const RecordView>(&missing, 1));
  }
  auto more = ProduceTransfers(data_, "transfers", 1, 50, 5, 3, 100);
  transfers.insert(transfers.end(), more.begin(), more.end());
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(Ledger(), &stats).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
  auto dead = Query(db_, "SELECT partition, \"offset\" FROM onceflow_dead_letters ORDER BY 2");
  ASSERT_EQ(dead.size(), 2U);
  EXPECT_EQ(dead[0], (std::vector<int64_t>{0, 100}));
  EXPECT_EQ(dead[1], (std::vector<int64_t>{0, 101}));
}

TEST_F(PipelineTest, OperatorsReduceAndForeachBatch) {
  ProduceTransfers(data_, "transfers", 2, 600, 10);
  int64_t seen = 0;
  std::set<int64_t> batches;
  PipelineBuilder b("per-source");
  b.FromLog({.topic = "transfers"})
      .Filter([](const Row& r) { return r.GetInt("amount").value_or(0) > 100; })
      .Map([](Row r) {
        r.Set("count", int64_t{1});
        return r;
      })
      .KeyBy({"from"})
      .Reduce([](Row acc, const Row& next) {
        acc.Set("amount", *acc.GetInt("amount") + *next.GetInt("amount"));
        acc.Set("count", *acc.GetInt("count") + 1);
        return acc;
      })
      .ForeachBatch([&](const BatchContext& ctx, std::span<const Row> rows) {
        batches.insert(ctx.batch_id.value());
        seen += static_cast<int64_t>(rows.size());
        return Status::Ok();
      })
      .ToSqlite({.path = db_,
                 .init = {"CREATE TABLE IF NOT EXISTS spend(src INTEGER PRIMARY KEY, total "
                          "INTEGER NOT NULL, n INTEGER NOT NULL)"},
                 .mode = SinkMode::kStatements,
                 .statements = {"INSERT INTO spend VALUES(:from, :amount, :count) ON "
                                "CONFLICT(src) DO UPDATE SET total = total + :amount, n = n + "
                                ":count"}})
      .MaxRecordsPerPartition(100);
  ASSERT_TRUE(RunToEnd(std::move(b)).ok());
  EXPECT_GT(seen, 0);
  EXPECT_GE(batches.size(), 3U);
  // The per-batch partial sums add up to the totals computed directly.
  int64_t total = 0, n = 0;
  for (auto& row : Query(db_, "SELECT total, n FROM spend")) {
    total += row[0];
    n += row[1];
  }
  auto all = ProduceTransfers(dir_.path() + "/scratch", "t", 2, 600, 10);  // same seed: same data
  int64_t want_total = 0, want_n = 0;
  for (auto& t : all) {
    if (t.amount > 100) {
      want_total += t.amount;
      ++want_n;
    }
  }
  EXPECT_EQ(total, want_total);
  EXPECT_EQ(n, want_n);
}

// A row without a key_by field was reduced into a group of its own ("missing"), silently.
TEST_F(PipelineTest, KeyByOfAMissingFieldIsADeadLetterNamingIt) {
  auto transfers = ProduceTransfers(data_, "transfers", 2, 300, 10);
  PipelineBuilder b("by-from");
  b.FromLog({.topic = "transfers"})
      .Map([](Row r) {
        if (r.GetInt("id").value_or(0) % 3 == 0) r = Row{{"id", *r.GetInt("id")}};  // no "from"
        return r;
      })
      .KeyBy({"from"})
      .Reduce([](Row acc, const Row& next) {
        acc.Set("amount", *acc.GetInt("amount") + *next.GetInt("amount"));
        return acc;
      })
      .ToSqlite({.path = db_,
                 .init = {"CREATE TABLE IF NOT EXISTS spend(src INTEGER, total INTEGER)"},
                 .mode = SinkMode::kStatements,
                 .statements = {"INSERT INTO spend VALUES(:from, :amount)"}});
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(std::move(b), &stats).ok());
  int64_t missing = 0, total = 0;
  for (const auto& t : transfers) {
    if (t.id % 3 == 0) {
      ++missing;
    } else {
      total += t.amount;
    }
  }
  EXPECT_EQ(stats.dead_letters, missing);
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM onceflow_dead_letters WHERE error = 'key_by: field "
                       "''from'' is missing'"),
            (std::vector<std::vector<int64_t>>{{missing}}));
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM spend WHERE src IS NULL"),
            (std::vector<std::vector<int64_t>>{{0}}));
  EXPECT_EQ(Query(db_, "SELECT SUM(total) FROM spend"),
            (std::vector<std::vector<int64_t>>{{total}}));
}

}  // namespace
}  // namespace onceflow::engine
