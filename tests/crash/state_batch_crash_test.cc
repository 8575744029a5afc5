// The per-batch keyed-state step (PipelineBuilder::UpdateStateBatch) under kill -9: a builder
// pipeline (state_batch_child) keeping a running count and sum per user, SIGKILLed at random
// moments (more input after each kill) and crashed at the fault points between its sink and state
// commits, restarted, then exact totals (every purchase counted once). Label `crash`.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testing/hang_guard.h"
#include "testing/kill_loop.h"
#include "testing/process.h"
#include "testing/purchases.h"
#include "testing/sqlite_query.h"
#include "testing/temp_dir.h"
#include "util/fault_points.h"

namespace onceflow::testing {
namespace {

class StateBatchCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Join("data");
    db_ = dir_.Join("spend.db");
  }

  std::unique_ptr<Process> Start(const std::map<std::string, std::string>& env = {}) {
    return std::make_unique<Process>(Process::Binary{ONCEFLOW_STATE_BATCH_CHILD},
                                     std::vector<std::string>{data_, db_}, "/dev/null",
                                     dir_.Join("out"), dir_.Join("err"), env);
  }

  // Start, then wait until the child has committed a batch (or ended): the kill loop's random
  // delay then runs from there, so that its kill lands among batches however slow the start
  // (recovery, a sanitizer build, a loaded machine) is.
  std::unique_ptr<Process> StartCommitting() {
    auto child = Start();
    const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
    while (child->out().find("committed") == std::string::npos && !child->Poll().has_value()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "the child committed no batch within " << kHangGuard.count()
                      << " minutes:\n"
                      << child->err();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return child;
  }

  void Produce(int n) {
    auto more = MakePurchases(n, 60, seed_++);
    ProducePurchases(data_, "purchases", 4, more);
    purchases_.insert(purchases_.end(), more.begin(), more.end());
  }

  // The spend table holds exactly each user's count and sum of purchases_.
  void ExpectExactTotals() {
    auto expected = CountAndSum(purchases_);
    auto rows = SqliteTextRows(db_, "SELECT user, purchases, spent FROM spend ORDER BY user");
    ASSERT_EQ(rows.size(), expected.size());
    for (const auto& r : rows) {
      EXPECT_EQ(std::stoll(r[1]), expected[r[0]].first) << r[0];
      EXPECT_EQ(std::stoll(r[2]), expected[r[0]].second) << r[0];
    }
    EXPECT_EQ(SqliteTextRows(db_, "SELECT COUNT(*) FROM onceflow_dead_letters")[0][0], "0");
  }

  TempDir dir_{"state-batch"};
  std::string data_, db_;
  std::vector<Purchase> purchases_;
  uint64_t seed_ = 1;
};

TEST_F(StateBatchCrashTest, RunningTotalsAreExactAfterSigkills) {
  Produce(3000);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const KillLoopResult loop = RunKillLoop(
      {.kills = 10, .seed = seed}, [&] { return StartCommitting(); }, [&] { Produce(1000); },
      [&](int, Process&) { Produce(300); });  // so that every run has work to be killed in
  if (HasFatalFailure()) return;
  // The kills landed among batches: every killed run had committed a batch.
  const auto counted = SqliteTextRows(db_, "SELECT COALESCE(SUM(purchases), 0) FROM spend");
  ASSERT_EQ(counted.size(), 1u);
  std::printf("%d SIGKILLs, %d runs finished before their kill; %s of %zu purchases counted\n",
              loop.kills, loop.finished, counted[0][0].c_str(), purchases_.size());
  EXPECT_GT(std::stoll(counted[0][0]), 0);
  auto last = Start();
  ASSERT_EQ(last->Wait(), 0) << last->err();
  ExpectExactTotals();
}

TEST_F(StateBatchCrashTest, CrashBetweenSinkAndStateCommitIsExact) {
  Produce(1500);
  // The first crash leaves batch 3 in the sink but not in the state: the next run re-runs it
  // from the state of batch 2 (its output skipped, its state applied).
  auto crashed = Start({{"ONCEFLOW_FAULTS", "after_sink_commit=crash#4"}});
  ASSERT_EQ(crashed->Wait(), faults::kCrashExitCode) << crashed->err();
  crashed = Start({{"ONCEFLOW_FAULTS", "mid_state_commit=crash#9"}});
  ASSERT_EQ(crashed->Wait(), faults::kCrashExitCode) << crashed->err();
  EXPECT_NE(crashed->err().find("re-running unfinished batch 3 from the state of batch 2"),
            std::string::npos)
      << crashed->err();
  auto last = Start();
  ASSERT_EQ(last->Wait(), 0) << last->err();
  ExpectExactTotals();
}

}  // namespace
}  // namespace onceflow::testing
