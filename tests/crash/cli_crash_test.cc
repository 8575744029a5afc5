// The kill -9 loops: `onceflow run` SIGKILLed at 20+ random moments over a transfers workload cut
// into many small batches, `onceflow verify` clean after every kill, then one clean run and an
// exact ledger; and a pipeline left running, woken by appends from another process, killed while
// it wakes, commits or idles. Label `crash`.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "testing/kill_loop.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/sqlite_query.h"
#include "testing/status_table.h"

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

// A pipeline left running (no --until-caught-up: caught up, it sleeps until its source grows)
// SIGKILLed while records keep arriving from another process. Each round first waits for the
// running pipeline to commit what was appended while it was idle (the wake-up on the source's
// appends works across processes), then appends another round and kills it at a random moment:
// while it wakes, plans, computes or commits. Every third round is killed idle instead, with
// nothing new appended. After every kill `verify` is clean; at the end the ledger is exact.
TEST_F(CliCrashTest, SigkillsOfARunningPipelineWhileRecordsArriveLeaveAnExactLedger) {
  WriteToml(/*max_records_per_partition=*/20);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  constexpr int kKills = 9;
  auto committed = [&] {
    RunResult s = RunVerb("status");
    return s.exit_code == 0 ? ParseStatusTable(s.out)[-1].committed : int64_t{-1};
  };
  // Waits until the running pipeline has committed every transfer produced so far.
  auto caught_up = [&](Process& run, int kill) {
    const auto produced = static_cast<int64_t>(transfers_.size());
    const auto guard = std::chrono::steady_clock::now() + kHangGuard;
    while (committed() < produced && std::chrono::steady_clock::now() < guard &&
           !run.Poll().has_value()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_FALSE(run.Poll().has_value()) << "run " << kill << " exited:\n" << run.err();
    ASSERT_EQ(committed(), produced) << "run " << kill << " did not commit what was appended";
  };
  Produce(150, /*accounts=*/40);
  for (int kill = 1; kill <= kKills; ++kill) {
    Process run({"run", toml_, "--data", data_}, "/dev/null", TempPath("out"), TempPath("err"));
    ASSERT_NO_FATAL_FAILURE(caught_up(run, kill));  // the backlog, then idle
    Produce(150, /*accounts=*/40);
    ASSERT_NO_FATAL_FAILURE(caught_up(run, kill));  // woken by the appends
    if (kill % 3 != 0) Produce(150, /*accounts=*/40);
    const int code = run.KillAfter(std::chrono::milliseconds(rng() % 60));
    ASSERT_EQ(code, -1) << "run " << kill << " exited by itself:\n" << run.err();
    RunResult v = RunVerb("verify");
    ASSERT_EQ(v.exit_code, 0) << "after kill " << kill << ":\n" << v.out << v.err;
  }
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "");
}

}  // namespace
}  // namespace onceflow::testing
