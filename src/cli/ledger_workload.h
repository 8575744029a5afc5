// The ledger demo's workload: random transfers between accounts, their JSON records in the
// `transfers` topic (keyed by the paying account), and the ledger pipeline's TOML file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "log/topic.h"
#include "onceflow/status.h"

namespace onceflow::cli {

// "A pays B": `from` is debited `amount` once, `to` credited once.
struct Transfer {
  int64_t id = 0;
  int64_t from = 0;
  int64_t to = 0;
  int64_t amount = 0;
};

// `count` transfers with ids 0..count-1 between accounts 0..accounts-1 (from != to), amounts
// 1..1000. The same seed gives the same transfers.
// REQUIRES: accounts >= 2 (CHECKed).
std::vector<Transfer> MakeTransfers(int64_t count, int64_t accounts, uint64_t seed);

// {"id":..,"from":..,"to":..,"amount":..}
std::string TransferJson(const Transfer& t);

// Appends the transfers to `topic` (durably, through the CLI's Producer), keyed by `from`, so
// that the transfers of one paying account stay in order in one partition.
Status ProduceTransfers(log::Topic* topic, std::span<const Transfer> transfers);

// The ledger pipeline of examples/ledger.toml: the transfers topic into SQLite `bank.db` (next to
// the TOML file), one debit, one credit and one ledger row per transfer, with
// `max_records_per_partition` per batch.
std::string LedgerPipelineToml(int64_t max_records_per_partition);

}  // namespace onceflow::cli
