// The batch history under kill -9: `onceflow run` of the ledger SIGKILLed at random moments (a
// kill may land while a history record is being written), the history read after every kill,
// then one clean run. No torn entry is ever seen (no warning), no batch id is committed twice,
// the committed records are contiguous and their records_in sum to the input. Label `crash`.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <set>
#include <string>

#include "checkpoint/checkpoint.h"
#include "onceflow/batch_history.h"
#include "testing/kill_loop.h"
#include "testing/ledger_cli_test_base.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow::testing {
namespace {

class CliHistoryCrashTest : public LedgerCliTestBase {
 protected:
  std::string CheckpointDir() const { return checkpoint::CheckpointDir(data_, "ledger"); }

  // The checkpoint's last committed batch (-1: none).
  int64_t LastCommit() {
    auto cp = checkpoint::Checkpoint::OpenReadOnly(CheckpointDir());
    if (!cp.has_value() || !(*cp)->last_commit().has_value()) return -1;
    return (*cp)->last_commit()->value();
  }

  // Checks the history as a reader sees it now; returns its committed records. With `complete`
  // (after a clean run) the last committed batch must be there too; after a kill it may be
  // missing (the kill landed between the commit record and the history's write: the next run
  // writes it).
  std::vector<BatchRecord> CheckHistory(bool complete) {
    Result<HistoryReadResult> read = ReadBatchHistory(CheckpointDir());
    EXPECT_TRUE(read.has_value()) << read.error().ToString();
    if (!read.has_value()) return {};
    EXPECT_EQ(read->warning, "") << "a torn or damaged entry was visible";
    std::vector<BatchRecord> committed;
    std::set<int64_t> ids;
    for (BatchRecord& b : read->batches) {
      EXPECT_NE(b.outcome, "superseded") << "batch " << b.batch_id << " was committed twice";
      if (b.outcome != "committed") continue;
      EXPECT_TRUE(ids.insert(b.batch_id).second) << "batch " << b.batch_id << " committed twice";
      if (!committed.empty()) {
        EXPECT_EQ(b.batch_id, committed.back().batch_id + 1) << "a committed batch is missing";
      } else {
        EXPECT_EQ(b.batch_id, 0);
      }
      committed.push_back(std::move(b));
    }
    const int64_t last = LastCommit();
    const int64_t recorded = committed.empty() ? -1 : committed.back().batch_id;
    EXPECT_LE(recorded, last);
    EXPECT_GE(recorded, complete ? last : last - 1);
    return committed;
  }
};

TEST_F(CliHistoryCrashTest, SigkillsLeaveNoTornOrDoubledEntryAndExactSums) {
  WriteToml(/*max_records_per_partition=*/5);  // ~300 batches of at most 20 transfers
  Produce(6000, /*accounts=*/300);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  int checked = 0;
  const KillLoopResult loop = LedgerKillLoop(
      {.kills = 15, .seed = seed}, [&] { Produce(1000, 300); },
      [&](const char* what) {
        if (std::string(what) != "killed") return;
        CheckHistory(/*complete=*/false);
        ++checked;
      });
  if (HasFatalFailure()) return;
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  ASSERT_EQ(CheckLedger(), "");
  std::vector<BatchRecord> committed = CheckHistory(/*complete=*/true);
  int64_t records_in = 0;
  for (const BatchRecord& b : committed) records_in += b.records_in;
  EXPECT_EQ(records_in, static_cast<int64_t>(transfers_.size()))
      << loop.kills << " kills, " << loop.finished << " runs that finished first";
  EXPECT_EQ(checked, loop.kills);
}

// Crashes at the two ends of the commit record, where the history's record is decided: just
// before it (the batch is re-run: one committed record, marked replayed) and just after it
// (before the history's write: the next run writes the record from the intent, once).
TEST_F(CliHistoryCrashTest, CrashesAroundTheCommitRecordLeaveOneCommittedRecordPerBatch) {
  WriteToml(/*max_records_per_partition=*/5);
  for (const char* point : {"before_commit_log", "after_commit_log"}) {
    SCOPED_TRACE(point);
    Produce(400, /*accounts=*/50);  // work for this run: its third batch crashes
    const std::string spec = std::string(point) + "=crash#3";
    RunResult crashed = RunVerb("run", {"--until-caught-up"}, {{"ONCEFLOW_FAULTS", spec}});
    ASSERT_EQ(crashed.exit_code, faults::kCrashExitCode) << crashed.err;
    const int64_t last = LastCommit();
    std::vector<BatchRecord> committed = CheckHistory(/*complete=*/false);
    ASSERT_FALSE(committed.empty());
    // The crashed batch has no committed record yet: before the commit record, it is not
    // committed; after it, its record was not written.
    const int64_t crashed_batch = committed.back().batch_id + 1;
    EXPECT_EQ(last, std::string(point) == "after_commit_log" ? crashed_batch : crashed_batch - 1);
    ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
    committed = CheckHistory(/*complete=*/true);
    ASSERT_GT(static_cast<int64_t>(committed.size()), crashed_batch);
    const BatchRecord& b = committed[static_cast<size_t>(crashed_batch)];
    if (std::string(point) == "before_commit_log") {
      EXPECT_TRUE(b.replayed);
      EXPECT_FALSE(b.reconstructed);
    } else {
      EXPECT_TRUE(b.reconstructed);
    }
    int64_t records_in = 0;
    for (const BatchRecord& r : committed) records_in += r.records_in;
    EXPECT_EQ(records_in, static_cast<int64_t>(transfers_.size()));
  }
  ASSERT_EQ(CheckLedger(), "");
}

}  // namespace
}  // namespace onceflow::testing
