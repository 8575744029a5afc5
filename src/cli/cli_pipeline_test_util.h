// Shared by the end-to-end tests of the pipeline verbs (run, status, verify): the ledger
// pipeline file, a transfers topic in the test's data directory, and the parsing of `status`.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <charconv>
#include <map>
#include <string>
#include <vector>

#include "cli/cli_test_util.h"
#include "engine/engine_test_util.h"

namespace onceflow::cli::testing {

using engine::testing::Transfer;

// The ledger example of the issue, as written; `max_records_per_partition` > 0 adds that key.
inline std::string LedgerToml(int64_t max_records_per_partition = 0,
                              const std::string& commit_mode = "batch") {
  std::string toml = R"toml(name = "ledger"
batch_interval_ms = 20
)toml";
  toml += "commit_mode = \"" + commit_mode + "\"\n";
  if (max_records_per_partition > 0) {
    toml += "max_records_per_partition = " + std::to_string(max_records_per_partition) + "\n";
  }
  toml += R"toml([source]
type = "log"
topic = "transfers"
starting_offsets = "earliest"
format = "json"
[sink]
type = "sqlite"
path = "bank.db"
init = ["CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS ledger(id INTEGER, src INTEGER, dst INTEGER, amount INTEGER)"]
mode = "statements"
statements = [
  "INSERT INTO accounts(id, balance) VALUES(:from, -:amount) ON CONFLICT(id) DO UPDATE SET balance = balance - :amount",
  "INSERT INTO accounts(id, balance) VALUES(:to, :amount) ON CONFLICT(id) DO UPDATE SET balance = balance + :amount",
  "INSERT INTO ledger(id, src, dst, amount) VALUES(:id, :from, :to, :amount)"]
)toml";
  return toml;
}

// Runs SQL that returns nothing (the tests' tampering); returns "" or SQLite's message.
inline std::string ExecSql(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  std::string error;
  if (sqlite3_open(db.c_str(), &h) != SQLITE_OK) {
    error = "cannot open " + db;
  } else {
    char* msg = nullptr;
    if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      error = msg != nullptr ? msg : "error";
    }
    sqlite3_free(msg);
  }
  sqlite3_close(h);
  return error;
}

// One partition line of `onceflow status`.
struct StatusRow {
  int64_t committed = -1;  // -1: "-"
  int64_t end = -1;
  int64_t lag = -1;
};

// The partition table of `onceflow status`, by partition; the "total" line under key -1.
inline std::map<int, StatusRow> ParseStatusTable(const std::string& out) {
  std::map<int, StatusRow> rows;
  bool in_table = false;
  for (const std::string& line : SplitLines(out)) {
    if (line.find("PARTITION") != std::string::npos) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    std::vector<std::string> f;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && line[i] == ' ') ++i;
      size_t j = line.find(' ', i);
      if (j == std::string::npos) j = line.size();
      if (j > i) f.push_back(line.substr(i, j - i));
      i = j;
    }
    if (f.size() != 4) continue;
    auto num = [](const std::string& s) {
      int64_t v = -1;
      std::from_chars(s.data(), s.data() + s.size(), v);
      return v;
    };
    const int p = f[0] == "total" ? -1 : static_cast<int>(num(f[0]));
    rows[p] = {f[1] == "-" ? -1 : num(f[1]), num(f[2]), num(f[3])};
  }
  return rows;
}

// A fixture with the ledger pipeline file at <tmp>/ledger.toml (its bank.db beside it) and a
// transfers topic produced on demand in the data directory.
class LedgerCliTestBase : public CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    toml_ = tmp_ + "/ledger.toml";
    db_ = tmp_ + "/bank.db";
  }

  void WriteToml(int64_t max_records_per_partition = 0, const std::string& commit_mode = "batch") {
    WriteWholeFile(toml_, LedgerToml(max_records_per_partition, commit_mode));
  }

  // Appends `n` transfers with the next ids to the transfers topic (4 partitions).
  void Produce(int n, int accounts = 50) {
    auto more = engine::testing::ProduceTransfers(data_, "transfers", 4, n, accounts,
                                                  /*seed=*/transfers_.size() + 1,
                                                  static_cast<int>(transfers_.size()));
    transfers_.insert(transfers_.end(), more.begin(), more.end());
  }

  // `onceflow VERB ledger.toml --data <data> extra...`.
  RunResult RunVerb(const std::string& verb, std::vector<std::string> extra = {},
                    const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = {verb, toml_, "--data", data_};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, "", env);
  }

  // "" when the ledger holds every transfer produced exactly once, else what is wrong.
  std::string CheckLedger() { return engine::testing::CheckLedger(db_, transfers_); }

  std::string toml_, db_;
  std::vector<Transfer> transfers_;
};

}  // namespace onceflow::cli::testing
