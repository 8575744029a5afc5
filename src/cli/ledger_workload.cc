// The ledger demo's transfers and pipeline file.
#include "cli/ledger_workload.h"

#include <fmt/core.h>

#include <chrono>
#include <random>

#include "log/producer.h"

namespace onceflow::cli {

std::vector<Transfer> MakeTransfers(int64_t count, int64_t accounts, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> account(0, accounts - 1);
  std::uniform_int_distribution<int64_t> amount(1, 1000);
  std::vector<Transfer> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    Transfer t;
    t.id = i;
    t.from = account(rng);
    do {
      t.to = account(rng);
    } while (t.to == t.from);
    t.amount = amount(rng);
    out.push_back(t);
  }
  return out;
}

std::string TransferJson(const Transfer& t) {
  return fmt::format(R"({{"id":{},"from":{},"to":{},"amount":{}}})", t.id, t.from, t.to,
                     t.amount);
}

Status ProduceTransfers(log::Topic* topic, std::span<const Transfer> transfers) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto producer, log::Producer::Create(topic, ProducerOptions()));
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::string key, value;
  for (const Transfer& t : transfers) {
    key = std::to_string(t.from);
    value = TransferJson(t);
    RecordView r;
    r.key = key;
    r.value = value;
    r.timestamp_ms = now_ms;
    ONCEFLOW_RETURN_IF_ERROR(producer->Add(r));
  }
  ONCEFLOW_RETURN_IF_ERROR(producer->Close());
  if (producer->records_durable() != transfers.size()) {
    return Status::Corruption(fmt::format("the producer acknowledged {} of {} transfers",
                                          producer->records_durable(), transfers.size()));
  }
  return Status::Ok();
}

std::string LedgerPipelineToml(int64_t max_records_per_partition) {
  // The ledger example, exactly as documented, plus the batch size.
  return fmt::format(R"toml(name = "ledger"
batch_interval_ms = 20
max_records_per_partition = {}
[source]
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
)toml",
                     max_records_per_partition);
}

}  // namespace onceflow::cli
