// The ledger with additive upserts (examples/ledger_additive.toml) on a real PostgreSQL server:
// `onceflow run` SIGKILLed at random moments and crashed at every fault point, then exact
// balances and ledger rows. Labels `crash` and `postgres`.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "testing/kill_loop.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/ledger_postgres.h"
#include "testing/postgres.h"
#include "util/fault_points.h"

namespace onceflow::testing {
namespace {

class CliAdditivePostgresTest : public LedgerCliTestBase,
                                public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    LedgerCliTestBase::SetUp();
    ONCEFLOW_REQUIRE_POSTGRES();
    server_ = TestPostgres();
    schema_ = UniqueName("additive");
    conninfo_ = WithSchema(server_, schema_);
  }
  void TearDown() override {
    if (!schema_.empty()) PgQuery(server_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    LedgerCliTestBase::TearDown();
  }
  void WriteAdditiveToml(int64_t max_records_per_partition, const std::string& commit_mode) {
    WriteWholeFile(toml_,
                   LedgerAdditivePostgresToml(conninfo_, max_records_per_partition, commit_mode));
  }
  std::string CheckAdditiveLedger() { return CheckPostgresLedger(conninfo_, transfers_); }

  std::string server_, schema_, conninfo_;
};

TEST_P(CliAdditivePostgresTest, SigkillsAtRandomMomentsLeaveExactBalancesAndLedger) {
  WriteAdditiveToml(/*max_records_per_partition=*/5, GetParam());
  Produce(8000, /*accounts=*/200);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const KillLoopResult loop = LedgerKillLoop({.kills = 10,
                                              .min_delay = std::chrono::milliseconds(50),
                                              .max_delay = std::chrono::milliseconds(500),
                                              .seed = seed},
                                             [&] { Produce(1500, 200); });
  if (HasFatalFailure()) return;
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckAdditiveLedger(), "")
      << loop.kills << " kills, " << loop.finished << " finished first";
}

INSTANTIATE_TEST_SUITE_P(CommitMode, CliAdditivePostgresTest, ::testing::Values("batch", "task"));

TEST_P(CliAdditivePostgresTest, CrashAtEveryFaultPointThenRestartLeavesExactBalancesAndLedger) {
  WriteAdditiveToml(/*max_records_per_partition=*/20, GetParam());
  for (const std::string& point : faults::PipelinePoints()) {
    SCOPED_TRACE(point);
    Produce(400, /*accounts=*/50);
    RunResult crashed =
        RunVerb("run", {"--until-caught-up"}, {{"ONCEFLOW_FAULTS", point + "=crash#3"}});
    ASSERT_EQ(crashed.exit_code, faults::kCrashExitCode) << crashed.out << crashed.err;
    RunResult v = RunVerb("verify");
    ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
  }
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckAdditiveLedger(), "");
}

}  // namespace
}  // namespace onceflow::testing
