// The kill -9 loop: `onceflow run` SIGKILLed at 20+ random moments over a transfers workload cut
// into many small batches, `onceflow verify` clean after every kill, then one clean run and an
// exact ledger. Label `crash`.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "testing/kill_loop.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/sqlite_query.h"

namespace onceflow::testing {
namespace {

class CliCrashTest : public LedgerCliTestBase {
 protected:
  // Runs `onceflow run` over a growing transfers workload and SIGKILLs it `kills` times at
  // random moments (verify clean after each), then checks the ledger exactly.
  void KillLoop(int kills, const std::string& commit_mode);
};

void CliCrashTest::KillLoop(int kills_wanted, const std::string& commit_mode) {
  const int kKills = kills_wanted;
  WriteToml(/*max_records_per_partition=*/5, commit_mode);  // ~1200 batches for 20000 transfers
  Produce(20000, /*accounts=*/300);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto trace = [&](const char* what) {
    if (std::getenv("CRASH_TEST_TRACE") != nullptr) {
      std::printf("run %s: %s\n", what, RunVerb("status").out.c_str());
    }
  };
  // A run that finished before its kill: more transfers keep the next one busy.
  const KillLoopResult loop = LedgerKillLoop(
      {.kills = kKills, .seed = seed}, [&] { Produce(3000, 300); }, trace);
  if (HasFatalFailure()) return;
  const int kills = loop.kills, finished = loop.finished;
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "") << kills << " kills, " << finished << " runs that finished first";
}

TEST_F(CliCrashTest, TwentySigkillsAtRandomMomentsLeaveAnExactLedger) { KillLoop(20, "batch"); }

// Per-task commits: each task has its own sink transaction, so a kill can land between the
// commits of two tasks of one batch; the restart must re-run the batch and skip the tasks the
// sink already holds.
TEST_F(CliCrashTest, TenSigkillsWithPerTaskCommitsLeaveAnExactLedger) { KillLoop(10, "task"); }

}  // namespace
}  // namespace onceflow::testing
