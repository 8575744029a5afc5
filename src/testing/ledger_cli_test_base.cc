// LedgerCliTestBase.
#include "testing/ledger_cli_test_base.h"

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

}  // namespace onceflow::testing
