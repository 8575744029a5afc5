// pipeline_pg_ledger_bench: the bank ledger (the seed's "A pays B") from the embedded log into
// PostgreSQL — in statements mode (per transfer a debit, a credit and a ledger row) and in
// additive mode (the batch's debits and credits summed per account, one upsert per account per
// batch, the ledger rows by COPY; examples/ledger_additive.toml) — swept over fixed batch sizes
// (max_records_per_partition, batch_sizing = "fixed") and the adaptive default, so that a cliff
// at some size shows, the default is compared with the best, and the two modes side by side in
// the same run (issue 19).
//
//   pipeline_pg_ledger_bench --conninfo CONNINFO [--dir DIR] [--records N] [--reps R]
//                            [--sizes 1250,5000,25000,100000] [--accounts A]
//                            [--modes statements,additive]
//
// CONNINFO defaults to $ONCEFLOW_TEST_POSTGRES (scripts/services/postgres.sh start DIR prints
// one). N transfers {id, from, to, amount} between A accounts, keyed by payer, in a 4-partition
// topic; for each mode and size the pipeline runs from a fresh checkpoint and schema until
// caught up and is checked exact (ledger rows = N, distinct ids = N, every account's balance as
// the transfers say). Each median of R runs is printed beside the best of its mode and, for
// additive, as a ratio of statements' best in the same run.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "fatal.h"
#include "pg_bench_client.h"
#include "pg_pipeline_setup.h"
#include "util/file.h"

namespace {

using onceflow::bench::Die;
using onceflow::bench::Median;
using onceflow::bench::SqlInt;

// Transfer i: {id, from, to, amount} between `accounts` accounts, keyed by the payer.
void Produce(const std::string& data, int64_t n, int64_t accounts) {
  onceflow::bench::ProduceKeyed(
      data, "transfers", n,
      [accounts](int64_t i, std::string* key, std::string* value, int64_t* ts) {
        const int64_t from = (i * 7919) % accounts, to = (i * 104729 + 1) % accounts;
        *key = std::to_string(from);
        *value = "{\"id\":" + std::to_string(i) + ",\"from\":" + *key +
                 ",\"to\":" + std::to_string(to) + ",\"amount\":" + std::to_string(i % 100 + 1) +
                 "}";
        *ts = 1700000000000 + i;
      });
}

// The balances the transfers of Produce leave, by account.
std::map<int64_t, int64_t> ExpectedBalances(int64_t n, int64_t accounts) {
  std::map<int64_t, int64_t> b;
  for (int64_t i = 0; i < n; ++i) {
    b[(i * 7919) % accounts] -= i % 100 + 1;
    b[(i * 104729 + 1) % accounts] += i % 100 + 1;
  }
  return b;
}

// The [sink] lines after conninfo and init of `mode`: the ledger as statements, or additive.
std::string LedgerSink(const std::string& mode) {
  if (mode == "additive") {
    return "mode = \"additive\"\n"
           "[[sink.add]]\ntable = \"accounts\"\nkey = { id = \"from\" }\n"
           "add = { balance = \"-amount\" }\n"
           "[[sink.add]]\ntable = \"accounts\"\nkey = { id = \"to\" }\n"
           "add = { balance = \"amount\" }\n"
           "[sink.append]\ntable = \"ledger\"\n"
           "columns = { id = \"id\", src = \"from\", dst = \"to\", amount = \"amount\" }\n";
  }
  return "mode = \"statements\"\nstatements = [\n"
         "\"INSERT INTO accounts(id, balance) VALUES(:from, -:amount) ON CONFLICT(id) DO UPDATE "
         "SET balance = accounts.balance - :amount\",\n"
         "\"INSERT INTO accounts(id, balance) VALUES(:to, :amount) ON CONFLICT(id) DO UPDATE SET "
         "balance = accounts.balance + :amount\",\n"
         "\"INSERT INTO ledger(id, src, dst, amount) VALUES(:id, :from, :to, :amount)\"]\n";
}

// per_partition 0: the defaults (adaptive, ceiling 100000); else that size, fixed.
double PipelineRun(const std::string& data, const std::string& conninfo, int64_t n,
                   int64_t per_partition, const std::string& mode) {
  std::string text = "name = \"ledger\"\nbatch_interval_ms = 1\n";
  if (per_partition > 0) {
    text += "max_records_per_partition = " + std::to_string(per_partition) +
            "\nbatch_sizing = \"fixed\"\n";
  }
  text += "[source]\ntype = \"log\"\ntopic = \"transfers\"\nformat = \"json\"\n"
          "[sink]\ntype = \"postgres\"\nconninfo = \"" +
          conninfo +
          "\"\ninit = [\"CREATE TABLE IF NOT EXISTS accounts(id BIGINT PRIMARY KEY, balance BIGINT "
          "NOT NULL)\", \"CREATE TABLE IF NOT EXISTS ledger(id BIGINT, src BIGINT, dst BIGINT, "
          "amount BIGINT)\"]\n" +
          LedgerSink(mode);
  // The batch sizes the run took (largest range of each batch), in order, shown compressed.
  std::string trace;
  int64_t last = -1, repeats = 0;
  auto flush = [&] {
    if (last >= 0)
      trace += " " + std::to_string(last) + (repeats > 1 ? "x" + std::to_string(repeats) : "");
  };
  const double rate = onceflow::bench::RunPipelineFile(
      data + "/ledger.toml", text, data, n,
      [&](const onceflow::BatchContext& c, const onceflow::PipelineStats&) {
        int64_t largest = 0;
        for (const onceflow::OffsetRange& r : c.ranges)
          largest = std::max(largest, r.until - r.from);
        if (largest == last) {
          ++repeats;
          return;
        }
        flush();
        last = largest;
        repeats = 1;
      });
  flush();
  std::printf("    batch sizes:%s\n", trace.c_str());
  return rate;
}

std::vector<int64_t> ParseSizes(const std::string& list) {
  std::vector<int64_t> out;
  size_t at = 0;
  while (at <= list.size()) {
    const size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    out.push_back(item == "default" ? 0 : std::atoll(item.c_str()));
    at = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "build-bench/benchdata";
  const char* env = std::getenv("ONCEFLOW_TEST_POSTGRES");
  std::string conninfo = env != nullptr ? env : "";
  int64_t records = 100000;
  int64_t accounts = 10000;
  int reps = 3;
  std::string sizes = "1250,5000,25000,default";
  std::string modes = "statements,additive";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--dir") {
      dir = next();
    } else if (a == "--conninfo") {
      conninfo = next();
    } else if (a == "--records") {
      records = std::atoll(next().c_str());
    } else if (a == "--accounts") {
      accounts = std::atoll(next().c_str());
    } else if (a == "--reps") {
      reps = std::atoi(next().c_str());
    } else if (a == "--sizes") {
      sizes = next();
    } else if (a == "--modes") {
      modes = next();
    } else {
      std::printf(
          "usage: %s --conninfo CONNINFO [--dir DIR] [--records N] [--reps R]\n"
          "       [--sizes S1,S2,...|default] [--accounts A] [--modes statements,additive]\n"
          "  sizes are fixed max_records_per_partition values; 'default' is the adaptive default\n",
          argv[0]);
      return a == "--help" ? 0 : 2;
    }
  }
  if (conninfo.empty()) Die("no --conninfo and no $ONCEFLOW_TEST_POSTGRES");
  const double load = onceflow::bench::LoadAverage();
  std::printf("pipeline_pg_ledger_bench: %lld transfers, %lld accounts, %d reps, load %.2f\n",
              static_cast<long long>(records), static_cast<long long>(accounts), reps, load);
  const std::string data = onceflow::JoinPath(dir, "pg-ledger-topic");
  (void)onceflow::RemoveAll(data);
  (void)onceflow::CreateDirs(data);
  Produce(data, records, accounts);
  PGconn* admin = onceflow::bench::Connect(conninfo);
  std::vector<int64_t> size_list = ParseSizes(sizes);
  std::vector<std::string> mode_list;
  for (size_t at = 0; at <= modes.size();) {
    const size_t comma = std::min(modes.find(',', at), modes.size());
    mode_list.push_back(modes.substr(at, comma - at));
    at = comma + 1;
  }
  const std::map<int64_t, int64_t> expected = ExpectedBalances(records, accounts);
  std::map<std::string, std::vector<double>> medians;
  for (const std::string& mode : mode_list) {
    if (mode != "statements" && mode != "additive") Die("--modes: unknown mode " + mode);
    for (int64_t size : size_list) {
      std::vector<double> runs;
      for (int r = 0; r < reps; ++r) {
        // A fresh checkpoint (the topic stays) and a fresh schema per run.
        (void)onceflow::RemoveAll(onceflow::JoinPath(data, "pipelines"));
        const std::string scoped = onceflow::bench::FreshSchema(admin, conninfo, "ledger_bench");
        runs.push_back(PipelineRun(data, scoped, records, size, mode));
        if (SqlInt(admin, "SELECT count(*) FROM ledger_bench.ledger") != records ||
            SqlInt(admin, "SELECT count(DISTINCT id) FROM ledger_bench.ledger") != records) {
          Die("check: the ledger rows are not exact");
        }
        PGresult* b = PQexec(admin, "SELECT id, balance FROM ledger_bench.accounts");
        std::map<int64_t, int64_t> actual;
        for (int i = 0; i < PQntuples(b); ++i) {
          actual[std::atoll(PQgetvalue(b, i, 0))] = std::atoll(PQgetvalue(b, i, 1));
        }
        PQclear(b);
        if (actual != expected) Die("check: the balances are not exact");
        std::printf("  %s size %s rep %d: %.0f records/s\n", mode.c_str(),
                    size == 0 ? "default" : std::to_string(size).c_str(), r, runs.back());
        std::fflush(stdout);
      }
      medians[mode].push_back(Median(runs));
    }
  }
  std::map<std::string, double> best;
  for (const auto& [mode, m] : medians) best[mode] = *std::max_element(m.begin(), m.end());
  std::printf("mode | max_records_per_partition | records/s (median of %d) | of the mode's best | "
              "of statements' best\n",
              reps);
  for (const std::string& mode : mode_list) {
    for (size_t i = 0; i < size_list.size(); ++i) {
      const double m = medians[mode][i];
      std::printf(
          "%s | %s | %.0f | %.2f | %s\n", mode.c_str(),
          size_list[i] == 0 ? "default" : std::to_string(size_list[i]).c_str(), m, m / best[mode],
          best.contains("statements") ? std::to_string(m / best["statements"]).substr(0, 4).c_str()
                                      : "-");
    }
  }
  PQfinish(admin);
  (void)onceflow::RemoveAll(data);
  return 0;
}
