// The ledger with additive upserts (examples/ledger_additive.toml: balances summed per account
// per batch, ledger rows appended beside them) on SQLite: `onceflow run` SIGKILLed at random
// moments and crashed at every fault point, then exact balances and ledger rows. Label `crash`.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "testing/kill_loop.h"
#include "testing/ledger_cli_test_base.h"
#include "util/fault_points.h"

namespace onceflow::testing {
namespace {

class CliAdditiveCrashTest : public LedgerCliTestBase,
                             public ::testing::WithParamInterface<const char*> {
 protected:
  void WriteAdditiveToml(int64_t max_records_per_partition, const std::string& commit_mode) {
    WriteWholeFile(toml_, LedgerAdditiveToml(max_records_per_partition, commit_mode));
  }
};

// commit_mode "batch" (the batch's tasks summed in one transaction) and "task" (per task: a kill
// can land between the tasks of a batch).
TEST_P(CliAdditiveCrashTest, SigkillsAtRandomMomentsLeaveExactBalancesAndLedger) {
  WriteAdditiveToml(/*max_records_per_partition=*/5, GetParam());
  Produce(12000, /*accounts=*/300);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const KillLoopResult loop =
      LedgerKillLoop({.kills = 12, .seed = seed}, [&] { Produce(3000, 300); });
  if (HasFatalFailure()) return;
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "") << loop.kills << " kills, " << loop.finished << " finished first";
}

INSTANTIATE_TEST_SUITE_P(CommitMode, CliAdditiveCrashTest, ::testing::Values("batch", "task"));

TEST_P(CliAdditiveCrashTest, CrashAtEveryFaultPointThenRestartLeavesExactBalancesAndLedger) {
  WriteAdditiveToml(/*max_records_per_partition=*/20, GetParam());
  for (const std::string& point : faults::PipelinePoints()) {
    SCOPED_TRACE(point);
    Produce(400, /*accounts=*/50);
    // The third hit: a few batches in, with earlier batches committed.
    RunResult crashed =
        RunVerb("run", {"--until-caught-up"}, {{"ONCEFLOW_FAULTS", point + "=crash#3"}});
    ASSERT_EQ(crashed.exit_code, faults::kCrashExitCode) << crashed.out << crashed.err;
    RunResult v = RunVerb("verify");
    ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
  }
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "");
}

}  // namespace
}  // namespace onceflow::testing
