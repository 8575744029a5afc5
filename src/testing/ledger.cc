// The ledger workload: transfers into the log, examples/ledger.toml, the exact ledger check.
#include "testing/ledger.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <map>
#include <random>

#include "log/topic.h"
#include "testing/process.h"
#include "testing/sqlite_query.h"

#ifndef ONCEFLOW_LEDGER_TOML
#error "ONCEFLOW_LEDGER_TOML must name examples/ledger.toml"
#endif

namespace onceflow::testing {

std::vector<Transfer> ProduceTransfers(const std::string& data_dir, const std::string& topic,
                                       int partitions, int n, int accounts, uint64_t seed,
                                       int first_id) {
  std::vector<Transfer> out;
  auto t = log::Topic::Open(data_dir, topic);
  if (!t.has_value()) {
    log::TopicConfig c;
    c.partitions = partitions;
    c.log.segment_bytes = 256 * 1024;
    t = log::Topic::Create(data_dir, topic, c);
  }
  if (!t.has_value()) {
    ADD_FAILURE() << "cannot create topic " << topic << ": " << t.error().ToString();
    return out;
  }
  std::mt19937_64 rng(seed);
  std::map<int32_t, log::BatchBuilder> builders;
  for (int i = 0; i < n; ++i) {
    Transfer tr{first_id + i, static_cast<int64_t>(rng() % accounts),
                static_cast<int64_t>(rng() % accounts), static_cast<int64_t>(rng() % 1000 + 1)};
    out.push_back(tr);
    std::string key = std::to_string(tr.from);
    std::string value =
        "{\"id\":" + std::to_string(tr.id) + ",\"from\":" + std::to_string(tr.from) +
        ",\"to\":" + std::to_string(tr.to) + ",\"amount\":" + std::to_string(tr.amount) + "}";
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

const char* LedgerTomlPath() { return ONCEFLOW_LEDGER_TOML; }

const char* LedgerAdditiveTomlPath() { return ONCEFLOW_LEDGER_ADDITIVE_TOML; }

std::string WithTopLevelKeys(const std::string& toml, const std::string& lines) {
  size_t at = 0;
  while (at < toml.size() && toml[at] != '[') {
    const size_t nl = toml.find('\n', at);
    if (nl == std::string::npos) return toml + "\n" + lines;
    at = nl + 1;
  }
  return toml.substr(0, at) + lines + toml.substr(at);
}

namespace {

// The pipeline file at `path` with `commit_mode` and `max_records_per_partition` (when > 0).
std::string LedgerTomlAt(const char* path, int64_t max_records_per_partition,
                         const std::string& commit_mode) {
  const std::string toml = ReadWholeFile(path);
  EXPECT_FALSE(toml.empty()) << "cannot read " << path;
  std::string keys = "commit_mode = \"" + commit_mode + "\"\n";
  if (max_records_per_partition > 0) {
    keys += "max_records_per_partition = " + std::to_string(max_records_per_partition) + "\n";
  }
  return WithTopLevelKeys(toml, keys);
}

}  // namespace

std::string LedgerToml(int64_t max_records_per_partition, const std::string& commit_mode) {
  return LedgerTomlAt(LedgerTomlPath(), max_records_per_partition, commit_mode);
}

std::string LedgerAdditiveToml(int64_t max_records_per_partition, const std::string& commit_mode) {
  return LedgerTomlAt(LedgerAdditiveTomlPath(), max_records_per_partition, commit_mode);
}

namespace {

// The strings of the array `sink.<key>` of examples/ledger.toml.
std::vector<std::string> SinkStrings(const char* key) {
  std::vector<std::string> out;
  try {
    const toml::table root = toml::parse_file(LedgerTomlPath());
    const toml::array* a = root["sink"][key].as_array();
    if (a == nullptr) {
      ADD_FAILURE() << LedgerTomlPath() << ": no array sink." << key;
      return out;
    }
    for (const toml::node& n : *a) out.push_back(n.value_or(std::string()));
  } catch (const toml::parse_error& e) {
    ADD_FAILURE() << LedgerTomlPath() << ": " << e.description();
  }
  return out;
}

}  // namespace

std::vector<std::string> LedgerInit() { return SinkStrings("init"); }

std::vector<std::string> LedgerStatements() { return SinkStrings("statements"); }

std::string CheckLedger(const std::string& db, const std::vector<Transfer>& transfers) {
  auto count = SqliteInts(db, "SELECT COUNT(*), COUNT(DISTINCT id) FROM ledger");
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
  for (auto& row : SqliteInts(db, "SELECT id, balance FROM accounts")) {
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

}  // namespace onceflow::testing
