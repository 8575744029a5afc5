// The ledger pipeline on PostgreSQL: examples/ledger.toml rewritten for a server, the check.
#include "testing/ledger_postgres.h"

#include <gtest/gtest.h>

#include <map>

#include "testing/postgres.h"

namespace onceflow::testing {
namespace {

// `text` with every `from` replaced by `to`; a test failure when there is none (the example
// changed under the test library).
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << LedgerTomlPath() << ": no '" << from << "' to replace";
    return text;
  }
  for (; at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

std::string LedgerPostgresToml(const std::string& conninfo, int64_t max_records_per_partition,
                               const std::string& commit_mode) {
  std::string toml = LedgerToml(max_records_per_partition, commit_mode);
  toml = ReplaceAll(toml, "type = \"sqlite\"\npath = \"bank.db\"\n",
                    "type = \"postgres\"\nconninfo = \"" + conninfo + "\"\n");
  return ReplaceAll(toml, "SET balance = balance ", "SET balance = accounts.balance ");
}

std::string LedgerAdditivePostgresToml(const std::string& conninfo,
                                       int64_t max_records_per_partition,
                                       const std::string& commit_mode) {
  return ReplaceAll(LedgerAdditiveToml(max_records_per_partition, commit_mode),
                    "type = \"sqlite\"\npath = \"bank.db\"\n",
                    "type = \"postgres\"\nconninfo = \"" + conninfo + "\"\n");
}

std::string WithKafkaSource(const std::string& toml, const std::string& bootstrap) {
  return ReplaceAll(toml, "[source]\ntype = \"log\"\n",
                    "[source]\ntype = \"kafka\"\nbootstrap = \"" + bootstrap + "\"\n");
}

std::string CheckPostgresLedger(const std::string& conninfo,
                                const std::vector<Transfer>& transfers) {
  std::string error;
  auto count = PgQuery(conninfo, "SELECT count(*), count(DISTINCT id) FROM ledger", &error);
  if (count.size() != 1) return "cannot read the ledger: " + error;
  const std::string n = std::to_string(transfers.size());
  if (count[0] != n + "|" + n) {
    return "ledger rows|distinct ids = " + count[0] + ", expected " + n + " of each";
  }
  std::map<int64_t, int64_t> expected;
  for (const Transfer& t : transfers) {
    expected[t.from] -= t.amount;
    expected[t.to] += t.amount;
  }
  std::map<int64_t, int64_t> actual;
  int64_t total = 0;
  for (const std::string& row : PgQuery(conninfo, "SELECT id, balance FROM accounts")) {
    const size_t bar = row.find('|');
    const int64_t balance = std::stoll(row.substr(bar + 1));
    actual[std::stoll(row.substr(0, bar))] = balance;
    total += balance;
  }
  if (total != 0) return "the total balance is " + std::to_string(total) + ", not 0";
  if (actual != expected) {
    for (const auto& [id, balance] : expected) {
      if (actual[id] != balance) {
        return "account " + std::to_string(id) + " has " + std::to_string(actual[id]) +
               ", expected " + std::to_string(balance);
      }
    }
    return "accounts that no transfer names";
  }
  return "";
}

}  // namespace onceflow::testing
