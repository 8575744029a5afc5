// Shared by the engine's tests: a bank-transfer workload in the embedded log and an exact
// check of the ledger a pipeline builds from it in SQLite.
#pragma once

#include <sqlite3.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "log/log_test_util.h"
#include "log/topic.h"
#include "onceflow/pipeline.h"

namespace onceflow::engine::testing {

struct Transfer {
  int64_t id, from, to, amount;
};

// Produces n transfers between `accounts` accounts into a new topic, keyed by source account.
inline std::vector<Transfer> ProduceTransfers(const std::string& data_dir, const std::string& topic,
                                              int partitions, int n, int accounts,
                                              uint64_t seed = 1, int first_id = 0) {
  std::vector<Transfer> out;
  auto t = log::Topic::Open(data_dir, topic);
  if (!t.has_value()) {
    log::TopicConfig c;
    c.partitions = partitions;
    c.log.segment_bytes = 256 * 1024;
    t = log::Topic::Create(data_dir, topic, c);
  }
  std::mt19937_64 rng(seed);
  std::map<int32_t, log::BatchBuilder> builders;
  std::vector<std::string> keys, values;
  for (int i = 0; i < n; ++i) {
    Transfer tr{first_id + i, static_cast<int64_t>(rng() % accounts),
                static_cast<int64_t>(rng() % accounts), static_cast<int64_t>(rng() % 1000 + 1)};
    out.push_back(tr);
    std::string key = std::to_string(tr.from);
    std::string value = "{\"id\":" + std::to_string(tr.id) + ",\"from\":" + std::to_string(tr.from) +
                        ",\"to\":" + std::to_string(tr.to) + ",\"amount\":" +
                        std::to_string(tr.amount) + "}";
    RecordView r;
    r.key = key;
    r.value = value;
    r.timestamp_ms = 1700000000000 + i;
    auto& b = builders[(*t)->PartitionForKey(key).value()];
    b.Add(r);
    if (b.size_bytes() > 16384) {
      (void)(*(*t)->partition((*t)->PartitionForKey(key)))->Append(b.Finish());
    }
  }
  for (auto& [p, b] : builders) {
    if (!b.empty()) (void)(*(*t)->partition(PartitionId(p)))->Append(b.Finish());
  }
  return out;
}

inline SqliteSinkOptions LedgerSink(const std::string& db) {
  SqliteSinkOptions s;
  s.path = db;
  s.init = {"CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS ledger(id INTEGER, src INTEGER, dst INTEGER, amount INTEGER)"};
  s.mode = SinkMode::kStatements;
  s.statements = {
      "INSERT INTO accounts(id, balance) VALUES(:from, -:amount) ON CONFLICT(id) DO UPDATE SET "
      "balance = balance - :amount",
      "INSERT INTO accounts(id, balance) VALUES(:to, :amount) ON CONFLICT(id) DO UPDATE SET "
      "balance = balance + :amount",
      "INSERT INTO ledger(id, src, dst, amount) VALUES(:id, :from, :to, :amount)"};
  return s;
}

// Runs a query returning integers, one vector per row.
inline std::vector<std::vector<int64_t>> Query(const std::string& db, const std::string& sql) {
  std::vector<std::vector<int64_t>> rows;
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(h);
    return rows;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<int64_t> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) row.push_back(sqlite3_column_int64(st, c));
      rows.push_back(std::move(row));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rows;
}

// Checks the exactly-once property of the ledger: every transfer once, no duplicate id,
// balance conserved, every account's balance equal to what the transfers say. Returns "" or
// what is wrong.
inline std::string CheckLedger(const std::string& db, const std::vector<Transfer>& transfers) {
  auto count = Query(db, "SELECT COUNT(*), COUNT(DISTINCT id) FROM ledger");
  if (count.empty()) return "cannot read " + db;
  if (count[0][0] != static_cast<int64_t>(transfers.size())) {
    return "ledger has " + std::to_string(count[0][0]) + " rows, expected " +
           std::to_string(transfers.size());
  }
  if (count[0][1] != count[0][0]) return "duplicate ids in the ledger";
  std::map<int64_t, int64_t> expected;
  for (const Transfer& t : transfers) {
    expected[t.from] -= t.amount;
    expected[t.to] += t.amount;
  }
  int64_t total = 0;
  std::map<int64_t, int64_t> actual;
  for (auto& row : Query(db, "SELECT id, balance FROM accounts")) {
    actual[row[0]] = row[1];
    total += row[1];
  }
  if (total != 0) return "total balance is " + std::to_string(total) + ", not 0";
  for (auto& [id, bal] : expected) {
    if (actual[id] != bal) {
      return "account " + std::to_string(id) + " has " + std::to_string(actual[id]) +
             ", expected " + std::to_string(bal);
    }
  }
  return "";
}

}  // namespace onceflow::engine::testing
