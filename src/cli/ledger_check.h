// The ledger demo's exact check: what the ledger pipeline wrote to SQLite against the
// transfers that were produced — every transfer once, money conserved, every balance exact.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "cli/ledger_workload.h"
#include "onceflow/status.h"

namespace onceflow::cli {

// One line of the verdict: what was checked, what was found, whether it holds.
struct LedgerCheck {
  std::string what;
  std::string found;
  bool ok = false;
};

// Reads `db_path` (read-only) and checks: ledger rows == transfers; no duplicate id; every
// ledger row equal to the transfer of its id; total balance 0; every account's balance equal to
// the sum the transfers give it, and no other account; no dead letter of `pipeline`.
// An error is returned only when the database cannot be read.
Result<std::vector<LedgerCheck>> CheckLedger(const std::string& db_path,
                                             std::span<const Transfer> transfers, int64_t accounts,
                                             const std::string& pipeline);

}  // namespace onceflow::cli
