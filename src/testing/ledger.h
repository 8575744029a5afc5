// The ledger workload of the tests: random bank transfers in a topic of the embedded log, the
// ledger pipeline of examples/ledger.toml, and the exact check of the ledger it builds in SQLite
// (every transfer once, no duplicate id, balance conserved, every balance as computed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onceflow::testing {

struct Transfer {
  int64_t id, from, to, amount;
};

// Appends n transfers with ids first_id.. between `accounts` accounts to `topic` in the data
// directory `data_dir` (created with `partitions` if new), keyed by the paying account, so that
// one account's transfers stay in order in one partition. The same seed gives the same transfers.
std::vector<Transfer> ProduceTransfers(const std::string& data_dir, const std::string& topic,
                                       int partitions, int n, int accounts, uint64_t seed = 1,
                                       int first_id = 0);

// The path of examples/ledger.toml in the source tree.
const char* LedgerTomlPath();
// The path of examples/ledger_additive.toml (the same ledger with additive upserts).
const char* LedgerAdditiveTomlPath();

// `toml` with `lines` (top-level keys, each ending in '\n') inserted before its first table, so
// that they belong to the pipeline rather than to [source] or [sink].
std::string WithTopLevelKeys(const std::string& toml, const std::string& lines);

// examples/ledger.toml with `commit_mode` and, when > 0, `max_records_per_partition` added.
std::string LedgerToml(int64_t max_records_per_partition = 0,
                       const std::string& commit_mode = "batch");
// examples/ledger_additive.toml, likewise.
std::string LedgerAdditiveToml(int64_t max_records_per_partition = 0,
                               const std::string& commit_mode = "batch");

// The ledger pipeline's sink settings, as examples/ledger.toml states them.
std::vector<std::string> LedgerInit();
std::vector<std::string> LedgerStatements();

// Checks the exactly-once property of the ledger in the SQLite database `db`: every transfer
// once, no duplicate id, balance conserved, every account's balance equal to what the transfers
// say. Returns "" or what is wrong.
std::string CheckLedger(const std::string& db, const std::vector<Transfer>& transfers);

}  // namespace onceflow::testing
