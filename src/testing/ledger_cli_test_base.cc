// LedgerCliTestBase.
#include "testing/ledger_cli_test_base.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "testing/status_table.h"

namespace onceflow::testing {

void LedgerCliTestBase::SetUp() {
  CliTestBase::SetUp();
  toml_ = tmp_ + "/ledger.toml";
  db_ = tmp_ + "/bank.db";
}

void LedgerCliTestBase::WriteToml(int64_t max_records_per_partition,
                                  const std::string& commit_mode) {
  WriteWholeFile(toml_, LedgerToml(max_records_per_partition, commit_mode));
}

void LedgerCliTestBase::Produce(int n, int accounts) {
  auto more = ProduceTransfers(data_, "transfers", 4, n, accounts,
                               /*seed=*/transfers_.size() + 1, static_cast<int>(transfers_.size()));
  transfers_.insert(transfers_.end(), more.begin(), more.end());
}

RunResult LedgerCliTestBase::RunVerb(const std::string& verb, std::vector<std::string> extra,
                                     const std::map<std::string, std::string>& env) {
  std::vector<std::string> args = {verb, toml_, "--data", data_};
  args.insert(args.end(), extra.begin(), extra.end());
  return Run(args, "", env);
}

std::unique_ptr<Process> LedgerCliTestBase::StartRun() {
  return std::make_unique<Process>(
      std::vector<std::string>{"run", toml_, "--until-caught-up", "--data", data_}, "/dev/null",
      TempPath("out"), TempPath("err"));
}

KillLoopResult LedgerCliTestBase::LedgerKillLoop(const KillLoopOptions& options,
                                                 const std::function<void()>& more,
                                                 const std::function<void(const char*)>& trace) {
  const KillLoopResult loop = RunKillLoop(
      options, [&] { return StartRun(); },
      [&] {
        if (trace) trace("finished");
        more();
      },
      [&](int kill, Process&) {
        if (trace) trace("killed");
        // Whatever the moment, the sink and the checkpoint agree (the batch in flight is either
        // wholly in the sink or not at all).
        RunResult v = RunVerb("verify");
        ASSERT_EQ(v.exit_code, 0) << "after kill " << kill << ":\n" << v.out << v.err;
      });
  if (!HasFatalFailure()) {
    std::printf("%d SIGKILLs, %d runs finished before their kill, %zu transfers\n", loop.kills,
                loop.finished, transfers_.size());
  }
  return loop;
}

void LedgerCliTestBase::RunToEndAndVerify() {
  RunResult last = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  RunResult v = RunVerb("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  RunResult s = RunVerb("status");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(ParseStatusTable(s.out)[-1].lag, 0) << s.out;
  EXPECT_EQ(ParseStatusTable(s.out)[-1].committed, static_cast<int64_t>(transfers_.size()))
      << s.out;
}

}  // namespace onceflow::testing
