// Power loss of `onceflow run` at the store steps of the commit protocol: the child arms
// ONCEFLOW_FAULTS="<point>=power_loss#k", so that at the k-th batch's step every change to a
// file not yet made durable is forgotten (the SQLite sink's through the VFS shim, the RocksDB
// state's through the tracked file system, onceflow's own through File) and it exits 87; the
// restart must then run to the end with exact results. Examples: the ledger (embedded log ->
// SQLite) and a running count per user (RocksDB state). Label `crash`.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "testing/ledger_cli_test_base.h"
#include "testing/purchases.h"
#include "testing/sqlite_query.h"
#include "util/power_loss.h"

namespace onceflow::testing {
namespace {

// Every test starts with a clean run, so that the power losses fall on the stores' files of a
// pipeline with history (the very first run's power losses are CliPowerLossTest's and
// CliChaosTest's).
class StorePowerLossLedgerTest : public LedgerCliTestBase {
 protected:
  void CleanFirstRun() {
    WriteToml(/*max_records_per_partition=*/50);
    Produce(600, /*accounts=*/40);
    RunResult first = RunVerb("run", {"--until-caught-up"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    Produce(1500, 40);
  }
};

// At each point the batch's sink commit has returned (FULL: its WAL frames are synced), so the
// restart finds it in the sink whatever the checkpoint says: re-run and skipped, or done.
TEST_F(StorePowerLossLedgerTest, PowerLossAtEachStepAfterTheSinkCommitLeavesAnExactLedger) {
  ASSERT_NO_FATAL_FAILURE(CleanFirstRun());
  int at = 2;
  for (const std::string point : {"after_sink_commit", "before_commit_log", "after_commit_log"}) {
    SCOPED_TRACE(point);
    const std::string spec = point + "=power_loss#" + std::to_string(at++);
    RunResult lost = RunVerb("run", {"--until-caught-up"}, {{"ONCEFLOW_FAULTS", spec}});
    ASSERT_EQ(lost.exit_code, power_loss::kExitCode) << lost.err;
    EXPECT_NE(lost.err.find("power loss at fault point " + point), std::string::npos) << lost.err;
    RunResult v = RunVerb("verify");
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    Produce(500, 40);
  }
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "");
}

// A power loss at the k-th sync of a file (any file: the logs, the checkpoint, the sink's WAL
// or database, its directory) during a run: a commit made durable stays, the rest is re-run.
TEST_F(StorePowerLossLedgerTest, PowerLossAtAFileSyncLeavesAnExactLedger) {
  ASSERT_NO_FATAL_FAILURE(CleanFirstRun());
  int losses = 0;
  for (const int k : {5, 13, 29}) {
    SCOPED_TRACE(k);
    RunResult lost = RunVerb("run", {"--until-caught-up"},
                             {{"ONCEFLOW_FAULTS", "file_sync=power_loss#" + std::to_string(k)}});
    // 0: the run caught up before its k-th sync.
    ASSERT_TRUE(lost.exit_code == power_loss::kExitCode || lost.exit_code == 0) << lost.err;
    losses += lost.exit_code == power_loss::kExitCode ? 1 : 0;
    RunResult v = RunVerb("verify");
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    Produce(500, 40);
  }
  EXPECT_GE(losses, 2);
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "");
}

// The spend-per-user example (testing/purchases.h), in batches of 25 records per partition.
std::string SpendToml() {
  std::string toml(kSpendPerUserToml);
  const std::string from = "max_records_per_partition = 5\n";
  toml.replace(toml.find(from), from.size(), "max_records_per_partition = 25\n");
  return toml;
}

// Parameter: every state commit an ingested SST file (a link and a manifest record) or not.
class StorePowerLossStateTest : public CliTestBase, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    toml_ = tmp_ + "/state.toml";
    db_ = tmp_ + "/state.db";
    WriteWholeFile(toml_, SpendToml());
  }

  RunResult RunPipeline(const std::string& faults_spec) {
    std::map<std::string, std::string> env;
    if (!faults_spec.empty()) env["ONCEFLOW_FAULTS"] = faults_spec;
    if (GetParam()) env["ONCEFLOW_STATE_INGEST_MIN_WRITES"] = "1";
    return Run({"run", toml_, "--until-caught-up", "--data", data_}, "", env);
  }

  void Produce(int n) {
    auto more = MakePurchases(n, 30, seed_++);
    ProducePurchases(data_, "purchases", 3, more);
    purchases_.insert(purchases_.end(), more.begin(), more.end());
  }

  // The clean first run (see StorePowerLossLedgerTest), then more input.
  void CleanFirstRun() {
    Produce(600);
    RunResult first = RunPipeline("");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    Produce(1200);
  }

  // "" if the spend table holds exactly the count and sum of every purchase produced.
  std::string CheckSpend() {
    auto expected = CountAndSum(purchases_);
    auto rows = SqliteTextRows(db_, "SELECT user, purchases, spent FROM spend ORDER BY user");
    if (rows.size() != expected.size()) {
      return std::to_string(rows.size()) + " users, expected " + std::to_string(expected.size());
    }
    for (const auto& r : rows) {
      const auto& [count, sum] = expected[r[0]];
      if (std::stoll(r[1]) != count || std::stoll(r[2]) != sum) {
        return r[0] + ": " + r[1] + " purchases, " + r[2] + " spent; expected " +
               std::to_string(count) + ", " + std::to_string(sum);
      }
    }
    return "";
  }

  std::string toml_, db_;
  std::vector<Purchase> purchases_;
  uint64_t seed_ = 1;
};

TEST_P(StorePowerLossStateTest, PowerLossAtEachStateStepLeavesExactAggregates) {
  ASSERT_NO_FATAL_FAILURE(CleanFirstRun());
  int at = 2;
  for (const std::string point :
       {"after_sink_commit", "mid_state_commit", "after_state_commit", "before_commit_log"}) {
    SCOPED_TRACE(point);
    RunResult lost = RunPipeline(point + "=power_loss#" + std::to_string(at++));
    ASSERT_EQ(lost.exit_code, power_loss::kExitCode) << lost.err;
    EXPECT_NE(lost.err.find("power loss at fault point " + point), std::string::npos) << lost.err;
    RunResult v = Run({"verify", toml_, "--data", data_});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    Produce(300);
  }
  RunResult last = RunPipeline("");
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_EQ(CheckSpend(), "");
  EXPECT_EQ(Run({"verify", toml_, "--data", data_}).exit_code, 0);
}

// A power loss at the k-th write of a file, which lands inside RocksDB's WAL or manifest
// writes, SQLite's, or onceflow's logs, wherever the run is then.
TEST_P(StorePowerLossStateTest, PowerLossAtAFileWriteLeavesExactAggregates) {
  ASSERT_NO_FATAL_FAILURE(CleanFirstRun());
  int losses = 0;
  for (const int k : {11, 37, 80}) {
    SCOPED_TRACE(k);
    RunResult lost = RunPipeline("file_write=power_loss#" + std::to_string(k));
    // 0: the run caught up before its k-th write.
    ASSERT_TRUE(lost.exit_code == power_loss::kExitCode || lost.exit_code == 0) << lost.err;
    losses += lost.exit_code == power_loss::kExitCode ? 1 : 0;
    Produce(300);
  }
  EXPECT_GE(losses, 2);
  RunResult last = RunPipeline("");
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_EQ(CheckSpend(), "");
  EXPECT_EQ(Run({"verify", toml_, "--data", data_}).exit_code, 0);
}

// An injected EIO or ENOSPC at a write, sync or rename (in RocksDB, SQLite or onceflow's own
// files): the run stops with an error or gets past it by retrying, never with a record lost or
// applied twice; a restart finishes exactly.
TEST_P(StorePowerLossStateTest, InjectedEioAndEnospcLeaveExactAggregates) {
  ASSERT_NO_FATAL_FAILURE(CleanFirstRun());
  int failed = 0;
  for (const std::string spec :
       {"file_sync=eio#9", "file_write=enospc#23", "file_rename=eio#1", "file_write=eio#61"}) {
    SCOPED_TRACE(spec);
    RunResult hurt = RunPipeline(spec);
    ASSERT_TRUE(hurt.exit_code == 0 || hurt.exit_code == 1) << hurt.exit_code << hurt.err;
    failed += hurt.exit_code == 1 ? 1 : 0;
    RunResult v = Run({"verify", toml_, "--data", data_});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    Produce(300);
  }
  EXPECT_GE(failed, 1);
  RunResult last = RunPipeline("");
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_EQ(CheckSpend(), "");
}

INSTANTIATE_TEST_SUITE_P(Commits, StorePowerLossStateTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Ingested" : "WriteBatch"; });

}  // namespace
}  // namespace onceflow::testing
