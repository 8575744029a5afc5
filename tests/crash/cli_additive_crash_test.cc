// The ledger with additive upserts (examples/ledger_additive.toml: balances summed per account
// per batch, ledger rows appended beside them) on SQLite and on a real PostgreSQL server:
// `onceflow run` SIGKILLed at random moments and crashed at every fault point, then exact
// balances and ledger rows. Labels `crash` and `postgres` (the PostgreSQL cases skip without
// ONCEFLOW_TEST_POSTGRES).
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <tuple>

#include "testing/kill_loop.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/ledger_postgres.h"
#include "testing/postgres.h"
#include "testing/services.h"
#include "util/fault_points.h"

namespace onceflow::testing {
namespace {

// The sink ("sqlite" or "postgres") and the commit mode: "batch" (the batch's tasks summed in
// one transaction) or "task" (per task: a kill can land between the tasks of a batch).
using AdditiveParam = std::tuple<std::string, std::string>;

// The kill loop's size per sink: PostgreSQL's commits are round trips, so fewer transfers and
// kills, and longer runs before each kill.
struct AdditiveKillLoop {
  int transfers;  // produced before the loop
  int accounts;
  int more;  // produced whenever a run finished before its kill
  KillLoopOptions options;
};

AdditiveKillLoop KillLoopFor(const std::string& sink) {
  if (sink == "postgres") {
    return {.transfers = 8000,
            .accounts = 200,
            .more = 1500,
            .options = {.kills = 10,
                        .min_delay = std::chrono::milliseconds(50),
                        .max_delay = std::chrono::milliseconds(500)}};
  }
  return {.transfers = 12000, .accounts = 300, .more = 3000, .options = {.kills = 12}};
}

class CliAdditiveCrashTest : public LedgerCliTestBase,
                             public ::testing::WithParamInterface<AdditiveParam> {
 protected:
  void SetUp() override {
    LedgerCliTestBase::SetUp();
    if (sink() != "postgres") return;
    ONCEFLOW_REQUIRE_POSTGRES();
    server_ = TestPostgres();
    schema_ = UniqueName("additive");
    conninfo_ = WithSchema(server_, schema_);
  }
  void TearDown() override {
    if (!schema_.empty()) PgQuery(server_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    LedgerCliTestBase::TearDown();
  }

  const std::string& sink() const { return std::get<0>(GetParam()); }
  const std::string& commit_mode() const { return std::get<1>(GetParam()); }

  void WriteAdditiveToml(int64_t max_records_per_partition) {
    WriteWholeFile(
        toml_, sink() == "postgres"
                   ? LedgerAdditivePostgresToml(conninfo_, max_records_per_partition, commit_mode())
                   : LedgerAdditiveToml(max_records_per_partition, commit_mode()));
  }
  // "" when the sink holds every transfer produced exactly once (CheckLedger's exact check).
  std::string CheckAdditiveLedger() {
    return sink() == "postgres" ? CheckPostgresLedger(conninfo_, transfers_) : CheckLedger();
  }

  std::string server_, schema_, conninfo_;  // PostgreSQL only
};

TEST_P(CliAdditiveCrashTest, SigkillsAtRandomMomentsLeaveExactBalancesAndLedger) {
  WriteAdditiveToml(/*max_records_per_partition=*/5);
  AdditiveKillLoop size = KillLoopFor(sink());
  Produce(size.transfers, size.accounts);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  size.options.seed = seed;
  const KillLoopResult loop =
      LedgerKillLoop(size.options, [&] { Produce(size.more, size.accounts); });
  if (HasFatalFailure()) return;
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckAdditiveLedger(), "")
      << loop.kills << " kills, " << loop.finished << " finished first";
}

TEST_P(CliAdditiveCrashTest, CrashAtEveryFaultPointThenRestartLeavesExactBalancesAndLedger) {
  WriteAdditiveToml(/*max_records_per_partition=*/20);
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
  EXPECT_EQ(CheckAdditiveLedger(), "");
}

INSTANTIATE_TEST_SUITE_P(SinkAndCommitMode, CliAdditiveCrashTest,
                         ::testing::Combine(::testing::Values("sqlite", "postgres"),
                                            ::testing::Values("batch", "task")),
                         [](const ::testing::TestParamInfo<AdditiveParam>& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace onceflow::testing
