// The seed's example as a C++ program: A pays B, A is debited once and B credited once, through
// the public pipeline API. It creates a `transfers` topic in a data directory, produces random
// transfers, runs the ledger pipeline until it has caught up, and prints the balances' check.
//
//   ./build/examples/ledger_example [DATA_DIR] [TRANSFERS]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "onceflow/pipeline.h"
#include "onceflow/producer.h"
#include "onceflow/topic.h"

namespace {

// Produces n JSON transfers between 100 accounts, keyed by the paying account, through the
// public producer: when Close returns ok, every transfer is in the topic exactly once.
onceflow::Status Produce(const std::string& data, int n) {
  auto topic = onceflow::Topic::Open(data, "transfers");
  if (!topic.has_value()) topic = onceflow::Topic::Create(data, "transfers", {.partitions = 4});
  if (!topic.has_value()) return topic.error();
  auto producer = onceflow::Producer::Create(topic->get());
  if (!producer.has_value()) return producer.error();
  std::mt19937 rng(42);
  for (int i = 0; i < n; ++i) {
    const int from = static_cast<int>(rng() % 100), to = static_cast<int>(rng() % 100);
    const std::string key = std::to_string(from);
    const std::string value = "{\"id\":" + std::to_string(i) + ",\"from\":" + key +
                              ",\"to\":" + std::to_string(to) +
                              ",\"amount\":" + std::to_string(rng() % 500 + 1) + "}";
    auto sent = (*producer)->Send(key, value, 1700000000000 + i);
    if (!sent.has_value()) return sent.error();
  }
  return (*producer)->Close();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string data = argc > 1 ? argv[1] : "./example-data";
  const int n = argc > 2 ? std::atoi(argv[2]) : 10000;
  if (onceflow::Status s = Produce(data, n); !s.ok()) {
    std::fprintf(stderr, "produce: %s\n", s.ToString().c_str());
    return 1;
  }
  onceflow::SqliteSinkOptions sink;
  sink.path = data + "/bank.db";
  sink.init = {
      "CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
      "CREATE TABLE IF NOT EXISTS ledger(id INTEGER, src INTEGER, dst INTEGER, amount INTEGER)"};
  sink.mode = onceflow::SinkMode::kStatements;
  sink.statements = {
      "INSERT INTO accounts(id, balance) VALUES(:from, -:amount) ON CONFLICT(id) DO UPDATE SET "
      "balance = balance - :amount",
      "INSERT INTO accounts(id, balance) VALUES(:to, :amount) ON CONFLICT(id) DO UPDATE SET "
      "balance = balance + :amount",
      "INSERT INTO ledger(id, src, dst, amount) VALUES(:id, :from, :to, :amount)"};
  int64_t committed_rows = 0;
  auto pipeline =
      onceflow::PipelineBuilder("ledger")
          .FromLog({.topic = "transfers"})
          // A transfer to oneself moves nothing: keep it out of the ledger.
          .Filter([](const onceflow::Row& r) { return r.GetInt("from") != r.GetInt("to"); })
          .ForeachBatch(
              [&](const onceflow::BatchContext& ctx, std::span<const onceflow::Row> rows) {
                committed_rows += static_cast<int64_t>(rows.size());
                return onceflow::Status::Ok();
              })
          .ToSqlite(sink)
          .BatchInterval(std::chrono::milliseconds(20))
          .Build();
  if (!pipeline.has_value()) {
    std::fprintf(stderr, "build: %s\n", pipeline.error().ToString().c_str());
    return 1;
  }
  onceflow::RunOptions options;
  options.data_dir = data;
  options.until_caught_up = true;
  if (onceflow::Status s = (*pipeline)->Run(options); !s.ok()) {
    std::fprintf(stderr, "run: %s\n", s.ToString().c_str());
    return 1;
  }
  const onceflow::PipelineStats stats = (*pipeline)->stats();
  std::printf("batches %lld, records %lld, ledger rows this run %lld, task attempts %lld\n",
              static_cast<long long>(stats.batches_committed),
              static_cast<long long>(stats.records_in), static_cast<long long>(committed_rows),
              static_cast<long long>(stats.task_attempts));
  std::printf("run it again: it resumes where it stopped and adds nothing twice\n");
  return 0;
}
