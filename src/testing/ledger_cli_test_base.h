// LedgerCliTestBase: the fixture of the end-to-end tests of the ledger pipeline — its file
// (examples/ledger.toml) at <tmp>/ledger.toml with its bank.db beside it, a transfers topic
// produced on demand in the data directory, the pipeline verbs, and the exact ledger check.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "testing/cli_test_base.h"
#include "testing/kill_loop.h"
#include "testing/ledger.h"
#include "testing/process.h"

namespace onceflow::testing {

class LedgerCliTestBase : public CliTestBase {
 protected:
  void SetUp() override;

  // Writes the ledger pipeline file (LedgerToml with these settings).
  void WriteToml(int64_t max_records_per_partition = 0, const std::string& commit_mode = "batch");

  // Appends `n` transfers with the next ids to the transfers topic (4 partitions).
  void Produce(int n, int accounts = 50);

  // `onceflow VERB ledger.toml --data <data> extra...`.
  RunResult RunVerb(const std::string& verb, std::vector<std::string> extra = {},
                    const std::map<std::string, std::string>& env = {});

  // `onceflow run ledger.toml --until-caught-up` started as a child (what the kill -9 loops
  // kill), its output in <tmp>/out and <tmp>/err.
  std::unique_ptr<Process> StartRun();

  // The kill -9 loop of the ledger (RunKillLoop over StartRun): `more` runs when a run finished
  // before its kill, `verify` must pass after every kill, and `trace` (if set) is told
  // "finished" or "killed" first. Prints the kills and runs; the caller checks
  // HasFatalFailure(), then RunToEndAndVerify and the ledger.
  KillLoopResult LedgerKillLoop(const KillLoopOptions& options, const std::function<void()>& more,
                                const std::function<void(const char* what)>& trace = {});

  // Runs the pipeline to its end, which must exit 0; then `verify` must pass and `status` show
  // every transfer produced committed, with no lag. Wrap it in ASSERT_NO_FATAL_FAILURE.
  void RunToEndAndVerify();

  // "" when the ledger holds every transfer produced exactly once, else what is wrong.
  std::string CheckLedger() { return ::onceflow::testing::CheckLedger(db_, transfers_); }

  std::string toml_, db_;
  std::vector<Transfer> transfers_;
};

}  // namespace onceflow::testing
