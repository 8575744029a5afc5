// The replay check end to end (docs/protocol.md, "Replay check"): a batch re-run after a crash
// between its sink commit and its commit record is compared with the output the sink committed;
// a non-deterministic transform is reported (a log line, replay_mismatches), never silently
// accepted, and a deterministic one through the same crash reports nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "engine/engine_test_util.h"
#include "onceflow/pipeline.h"
#include "util/fault_points.h"

namespace onceflow::engine {
namespace {

using ::onceflow::testing::CheckLedger;
using ::onceflow::testing::ProduceTransfers;
using testing::LedgerSink;

class ReplayCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/bank.db";
    transfers_ = ProduceTransfers(data_, "transfers", 4, 1000, 40);
  }
  void TearDown() override { faults::DisarmAll(); }

  // The ledger with a MapBatch that stamps every row with `run`: the same `run` in every
  // process is a deterministic transform, another one per process is not (its output depends
  // on something other than the rows and the batch context).
  PipelineBuilder Ledger(const std::string& run,
                         ReplayMismatch on_mismatch = ReplayMismatch::kWarn) {
    PipelineBuilder b("ledger");
    b.FromLog({.topic = "transfers"})
        .MapBatch([run](std::vector<Row> rows, const BatchContext&) -> Result<std::vector<Row>> {
          for (Row& r : rows) r.Set("run", run);
          return rows;
        })
        .ToSqlite(LedgerSink(db_))
        .BatchInterval(std::chrono::milliseconds(1))
        .MaxRecordsPerPartition(100)
        .Speculation(false)
        .OnReplayMismatch(on_mismatch);
    return b;
  }

  // Runs Ledger(run) in a child with `faults_spec` armed; returns its exit code.
  int RunChild(const std::string& run, const std::string& faults_spec) {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (!faults::Arm(faults_spec).ok()) ::_exit(3);
      auto b = Ledger(run);
      ::_exit(testing::RunToEnd(b, data_).ok() ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  static std::vector<std::string> Mismatches(const std::vector<std::string>& log) {
    std::vector<std::string> lines;
    for (const std::string& l : log) {
      if (l.find("output differs from the committed output") != std::string::npos) {
        lines.push_back(l);
      }
    }
    return lines;
  }

  log::testing::TempDir dir_;
  std::string data_, db_;
  std::vector<::onceflow::testing::Transfer> transfers_;
};

// Batch 1 reaches the sink (all four tasks in one transaction), then the process dies before
// its commit record: the restart re-runs batch 1 with its recorded ranges.
constexpr char kCrashAfterSinkCommit[] = "after_sink_commit=crash#2";

TEST_F(ReplayCheckTest, ANonDeterministicReRunIsReportedPerTaskAndTheCommittedOutputStays) {
  ASSERT_EQ(RunChild("first process", kCrashAfterSinkCommit), faults::kCrashExitCode);
  PipelineStats stats;
  std::vector<std::string> log;
  auto b = Ledger("second process");
  ASSERT_TRUE(testing::RunToEnd(b, data_, &stats, &log).ok());
  EXPECT_EQ(stats.batches_replayed, 1);
  // Every partition had records in batch 1: each of its four tasks differs, each reported.
  EXPECT_EQ(stats.already_committed, 4);
  EXPECT_EQ(stats.replay_mismatches, 4);
  const std::vector<std::string> lines = Mismatches(log);
  ASSERT_EQ(lines.size(), 4u);
  for (int task = 0; task < 4; ++task) {
    const std::string want = "pipeline 'ledger' batch 1 task " + std::to_string(task) +
                             ": output differs from the committed output: a non-deterministic "
                             "transform or function?";
    bool found = false;
    for (const std::string& l : lines) found = found || l.rfind(want, 0) == 0;
    EXPECT_TRUE(found) << want << "\nin: " << lines[0];
  }
  // Exactly once all the same: the committed output stays, the re-run's is skipped.
  EXPECT_EQ(CheckLedger(db_, transfers_), "");
}

TEST_F(ReplayCheckTest, ADeterministicReRunThroughTheSameCrashReportsNothing) {
  ASSERT_EQ(RunChild("every process", kCrashAfterSinkCommit), faults::kCrashExitCode);
  PipelineStats stats;
  std::vector<std::string> log;
  auto b = Ledger("every process");
  ASSERT_TRUE(testing::RunToEnd(b, data_, &stats, &log).ok());
  EXPECT_EQ(stats.batches_replayed, 1);
  EXPECT_EQ(stats.already_committed, 4);
  EXPECT_EQ(stats.replay_mismatches, 0);
  EXPECT_TRUE(Mismatches(log).empty()) << Mismatches(log)[0];
  EXPECT_EQ(CheckLedger(db_, transfers_), "");
}

TEST_F(ReplayCheckTest, TheSameCrashBeforeTheCommitLogIsCheckedAlike) {
  ASSERT_EQ(RunChild("first process", "before_commit_log=crash#2"), faults::kCrashExitCode);
  PipelineStats stats;
  std::vector<std::string> log;
  auto b = Ledger("second process");
  ASSERT_TRUE(testing::RunToEnd(b, data_, &stats, &log).ok());
  EXPECT_EQ(stats.replay_mismatches, 4);
  EXPECT_EQ(Mismatches(log).size(), 4u);
  EXPECT_EQ(CheckLedger(db_, transfers_), "");
}

TEST_F(ReplayCheckTest, FailStopsTheRunUntilTheReRunMatches) {
  ASSERT_EQ(RunChild("first process", kCrashAfterSinkCommit), faults::kCrashExitCode);
  PipelineStats stats;
  std::vector<std::string> log;
  auto failing = Ledger("second process", ReplayMismatch::kFail);
  Status s = testing::RunToEnd(failing, data_, &stats, &log);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.retryable()) << s.ToString();
  EXPECT_NE(s.message().find("pipeline 'ledger' batch 1 task 0: output differs from the "
                             "committed output"),
            std::string::npos)
      << s.ToString();
  EXPECT_EQ(stats.replay_mismatches, 4);  // every task reported before the run stops
  EXPECT_EQ(stats.batches_committed, 0);
  // A run whose function gives the committed output again goes on, exactly once.
  auto fixed = Ledger("first process", ReplayMismatch::kFail);
  ASSERT_TRUE(testing::RunToEnd(fixed, data_, &stats).ok());
  EXPECT_EQ(stats.replay_mismatches, 0);
  EXPECT_EQ(CheckLedger(db_, transfers_), "");
}

TEST_F(ReplayCheckTest, OffStoresNoDigestAndChecksNothing) {
  ASSERT_EQ(RunChild("first process", kCrashAfterSinkCommit), faults::kCrashExitCode);
  PipelineStats stats;
  std::vector<std::string> log;
  auto b = Ledger("second process", ReplayMismatch::kOff);
  ASSERT_TRUE(testing::RunToEnd(b, data_, &stats, &log).ok());
  EXPECT_EQ(stats.already_committed, 4);
  EXPECT_EQ(stats.replay_mismatches, 0);
  EXPECT_TRUE(Mismatches(log).empty());
  EXPECT_EQ(CheckLedger(db_, transfers_), "");
}

}  // namespace
}  // namespace onceflow::engine
