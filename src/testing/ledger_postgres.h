// The ledger pipeline of examples/ledger.toml on PostgreSQL: the file with its sink moved to a
// server (and, for the Kafka tests, its source to a broker), and the exact check of the ledger
// it builds there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "testing/ledger.h"

namespace onceflow::testing {

// examples/ledger.toml (LedgerToml: with `commit_mode` and, when > 0,
// `max_records_per_partition`) with a PostgreSQL sink: `type = "postgres"` and `conninfo`,
// written as given (it may name ${ENV} variables), instead of the SQLite file, and the upserts'
// `balance` on the right qualified as `accounts.balance` (in PostgreSQL's ON CONFLICT DO UPDATE
// a bare column is ambiguous with EXCLUDED's). The same tables, statements and batches.
std::string LedgerPostgresToml(const std::string& conninfo, int64_t max_records_per_partition = 0,
                               const std::string& commit_mode = "batch");

// examples/ledger_additive.toml (LedgerAdditiveToml) with the same PostgreSQL sink.
std::string LedgerAdditivePostgresToml(const std::string& conninfo,
                                       int64_t max_records_per_partition = 0,
                                       const std::string& commit_mode = "batch");

// `toml` (a ledger pipeline file) reading its topic from the Kafka broker `bootstrap` instead of
// the embedded log.
std::string WithKafkaSource(const std::string& toml, const std::string& bootstrap);

// Checks the exactly-once property of the ledger in PostgreSQL at `conninfo`, as CheckLedger
// does in SQLite: ledger rows == transfers, no duplicate id, total balance 0, every account's
// balance exact and no other account. Returns "" or what is wrong.
std::string CheckPostgresLedger(const std::string& conninfo,
                                const std::vector<Transfer>& transfers);

}  // namespace onceflow::testing
