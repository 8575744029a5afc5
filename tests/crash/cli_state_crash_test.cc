// The kill -9 loop on stateful pipelines: `onceflow run` of a running count per key and of a
// tumbling-window sum, SIGKILLed at a dozen random moments each, `onceflow verify` clean after
// every kill, then one clean run and exact results. Label `crash`.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "testing/kill_loop.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/purchases.h"
#include "testing/sqlite_query.h"
#include "testing/status_table.h"

namespace onceflow::testing {
namespace {

constexpr int kKills = 12;

class CliStateCrashTest : public CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    toml_ = tmp_ + "/state.toml";
    db_ = tmp_ + "/state.db";
  }

  RunResult RunVerb(const std::string& verb, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {verb, toml_, "--data", data_};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }

  // Runs `onceflow run` until `kills` SIGKILLs hit it at random moments; `more` produces more
  // input when a run finishes before its kill. After each kill, verify must be clean.
  void KillLoop(int kills, const std::function<void()>& more) {
    const uint64_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    const KillLoopResult loop = RunKillLoop(
        {.kills = kills, .seed = seed},
        [&] {
          return std::make_unique<Process>(
              std::vector<std::string>{"run", toml_, "--until-caught-up", "--data", data_},
              "/dev/null", TempPath("out"), TempPath("err"));
        },
        more,
        [&](int kill, Process&) {
          RunResult v = RunVerb("verify");
          ASSERT_EQ(v.exit_code, 0) << "after kill " << kill << ":\n" << v.out << v.err;
        });
    if (HasFatalFailure()) return;
    const int killed = loop.kills, finished = loop.finished;
    // How far the killed runs got (the kills must land among batches, not only at start-up).
    std::string progress;
    for (const std::string& line : SplitLines(RunVerb("status").out)) {
      if (line.rfind("last committed", 0) == 0) progress = line;
    }
    std::printf("%d SIGKILLs, %d runs finished before their kill; %s\n", killed, finished,
                progress.c_str());
    RunResult last = RunVerb("run", {"--until-caught-up"});
    ASSERT_EQ(last.exit_code, 0) << last.err;
    RunResult v = RunVerb("verify");
    EXPECT_EQ(v.exit_code, 0) << v.out;
  }

  std::string toml_, db_;
  std::vector<Purchase> purchases_;
};

TEST_F(CliStateCrashTest, RunningCountPerKeyIsExactAfterSigkills) {
  WriteWholeFile(toml_, kSpendPerUserToml);
  uint64_t seed = 1;
  auto produce = [&](int n) {
    auto more = MakePurchases(n, 100, seed++);
    ProducePurchases(data_, "purchases", 4, more);
    purchases_.insert(purchases_.end(), more.begin(), more.end());
  };
  produce(8000);
  KillLoop(kKills, [&] { produce(2000); });
  if (HasFatalFailure()) return;
  auto expected = CountAndSum(purchases_);
  auto rows = SqliteTextRows(db_, "SELECT user, purchases, spent FROM spend ORDER BY user");
  ASSERT_EQ(rows.size(), expected.size());
  for (const auto& r : rows) {
    EXPECT_EQ(std::stoll(r[1]), expected[r[0]].first) << r[0];
    EXPECT_EQ(std::stoll(r[2]), expected[r[0]].second) << r[0];
  }
}

TEST_F(CliStateCrashTest, CrashBetweenSinkAndStateCommitThenRecoveryIsExact) {
  WriteWholeFile(toml_, kSpendPerUserToml);
  purchases_ = MakePurchases(2000, 50, 9);
  ProducePurchases(data_, "purchases", 4, purchases_);
  RunResult crashed = Run({"run", toml_, "--until-caught-up", "--data", data_}, "",
                          {{"ONCEFLOW_FAULTS", "after_sink_commit=crash#7"}});
  ASSERT_EQ(crashed.exit_code, 86) << crashed.err;
  RunResult v = RunVerb("verify");
  ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
  RunResult recovered = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
  EXPECT_NE(recovered.err.find("re-running unfinished batch 6 from the state of batch 5"),
            std::string::npos)
      << recovered.err;
  EXPECT_NE(recovered.err.find("(1 replayed at recovery)"), std::string::npos) << recovered.err;
  auto expected = CountAndSum(purchases_);
  auto rows = SqliteTextRows(db_, "SELECT user, purchases, spent FROM spend ORDER BY user");
  ASSERT_EQ(rows.size(), expected.size());
  for (const auto& r : rows) {
    EXPECT_EQ(std::stoll(r[1]), expected[r[0]].first) << r[0];
    EXPECT_EQ(std::stoll(r[2]), expected[r[0]].second) << r[0];
  }
}

TEST_F(CliStateCrashTest, TumblingWindowSumIsExactAfterSigkills) {
  // One partition with out-of-order event times (up to 300 ms back, within the 500 ms allowed
  // lateness): nothing is late, and the windows the watermark passed are final.
  WriteWholeFile(toml_, R"toml(name = "window-sums"
batch_interval_ms = 20
max_records_per_partition = 5
[source]
type = "log"
topic = "purchases"
format = "json"
[[transform]]
type = "aggregate"
key = ["user"]
aggregates = { n = "count", total = "sum(amount)" }
window = { type = "tumbling", size = "1s", time_field = "ts", allowed_lateness = "500ms", emit = "final" }
[sink]
type = "sqlite"
path = "state.db"
init = ["CREATE TABLE IF NOT EXISTS windows(user TEXT, window_start INTEGER, window_end INTEGER, n INTEGER, total INTEGER, PRIMARY KEY(user, window_start))"]
mode = "upsert"
table = "windows"
key = ["user", "window_start"]
)toml");
  uint64_t seed = 1;
  auto produce = [&](int n) {
    auto more = MakePurchases(n, 5, seed++, static_cast<int64_t>(purchases_.size()) * 10, 10, 300);
    ProducePurchases(data_, "purchases", 1, more);
    purchases_.insert(purchases_.end(), more.begin(), more.end());
  };
  produce(3000);
  KillLoop(kKills, [&] { produce(1000); });
  if (HasFatalFailure()) return;
  int64_t max_ts = INT64_MIN;
  for (const Purchase& p : purchases_) max_ts = std::max(max_ts, p.ts);
  const int64_t watermark = max_ts - 500;
  std::vector<std::vector<std::string>> expected;
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> sorted;
  for (const auto& [k, v] : WindowSums(purchases_, 1000)) {
    if (std::get<1>(k) + 1000 <= watermark) sorted[{std::get<1>(k), std::get<0>(k)}] = v;
  }
  for (const auto& [k, v] : sorted) {
    expected.push_back({k.second, std::to_string(k.first), std::to_string(k.first + 1000),
                        std::to_string(v.first), std::to_string(v.second)});
  }
  EXPECT_GT(expected.size(), 100u);
  EXPECT_EQ(SqliteTextRows(db_, "SELECT user, window_start, window_end, n, total FROM windows "
                                "ORDER BY window_start, user"),
            expected);
  EXPECT_EQ(SqliteTextRows(db_, "SELECT COUNT(*) FROM onceflow_dead_letters")[0][0], "0");
}

}  // namespace
}  // namespace onceflow::testing
