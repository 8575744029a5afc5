// The ledger demo's transfers and pipeline file (examples/ledger.toml).
#include "cli/ledger_workload.h"

#include <fmt/core.h>

#include <chrono>
#include <random>

#include "cli/ledger_toml.h"
#include "log/producer.h"
#include "util/check.h"

namespace onceflow::cli {

std::vector<Transfer> MakeTransfers(int64_t count, int64_t accounts, uint64_t seed) {
  ONCEFLOW_CHECK(accounts >= 2) << "no transfer from != to among " << accounts << " account(s)";
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
  return fmt::format(R"({{"id":{},"from":{},"to":{},"amount":{}}})", t.id, t.from, t.to, t.amount);
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
  // examples/ledger.toml, with the batch size as a top-level key (before the first table, where
  // it belongs to the pipeline rather than to [source] or [sink]).
  const std::string toml = kLedgerExampleToml;
  const std::string key =
      fmt::format("max_records_per_partition = {}\n", max_records_per_partition);
  size_t at = 0;
  while (at < toml.size() && toml[at] != '[') {
    const size_t nl = toml.find('\n', at);
    if (nl == std::string::npos) return toml + "\n" + key;
    at = nl + 1;
  }
  return toml.substr(0, at) + key + toml.substr(at);
}

}  // namespace onceflow::cli
