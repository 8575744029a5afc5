// pipeline_postgres_bench: the exactly-once pipeline log -> JSON -> PostgreSQL (append),
// measured against the raw ceiling in the same run: the same rows with COPY in large
// transactions, no engine. Also, as the reason for the sink's choice of COPY, the same rows as
// prepared INSERTs in libpq pipeline mode.
//
//   pipeline_postgres_bench --conninfo CONNINFO [--dir DIR] [--records N] [--reps R]
//
// CONNINFO defaults to $ONCEFLOW_TEST_POSTGRES (scripts/services/postgres.sh start DIR prints
// one). N JSON records {id, uid, amount, ts} in a 4-partition topic; the pipeline appends them to
// events(id, uid, amount, ts) exactly once, until caught up, in batches of up to 4 x 50k rows.
// The ceiling sends the same rows, already formatted, with COPY in transactions of 200k rows;
// every transaction commits durably (the server's defaults: fsync on, synchronous_commit on).
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
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
using onceflow::bench::Seconds;
using onceflow::bench::Sql;

using Clock = std::chrono::steady_clock;

struct Event {
  int64_t id, uid, amount, ts;
};

Event MakeEvent(int64_t i) { return {i, (i * 7919) % 100000, i % 1000 + 1, 1700000000000 + i}; }

std::string EventJson(const Event& e) {
  return "{\"id\":" + std::to_string(e.id) + ",\"uid\":" + std::to_string(e.uid) +
         ",\"amount\":" + std::to_string(e.amount) + ",\"ts\":" + std::to_string(e.ts) + "}";
}

void Produce(const std::string& data, int64_t n) {
  onceflow::bench::ProduceKeyed(data, "events", n,
                                [](int64_t i, std::string* key, std::string* value, int64_t* ts) {
                                  const Event e = MakeEvent(i);
                                  *key = std::to_string(e.uid);
                                  *value = EventJson(e);
                                  *ts = e.ts;
                                });
}

const char* kCreateEvents =
    "CREATE TABLE IF NOT EXISTS events(id BIGINT, uid BIGINT, amount BIGINT, ts BIGINT)";

double PipelineRun(const std::string& data, const std::string& conninfo, int64_t n,
                   int64_t per_partition) {
  const std::string text = "name = \"bench\"\nbatch_interval_ms = 1\nmax_records_per_partition = " +
                           std::to_string(per_partition) +
                           "\nbatch_sizing = \"fixed\"\n[source]\ntype = \"log\"\ntopic = "
                           "\"events\"\nformat = \"json\"\n"
                           "[sink]\ntype = \"postgres\"\nconninfo = \"" +
                           conninfo + "\"\ninit = [\"" + kCreateEvents +
                           "\"]\nmode = \"append\"\ntable = \"events\"\n";
  return onceflow::bench::RunPipelineFile(data + "/bench.toml", text, data, n);
}

// The ceiling: COPY of the same rows in transactions of txn_rows, one durable COMMIT each.
double RawCopy(PGconn* c, int64_t n, int64_t txn_rows) {
  Sql(c, "CREATE TABLE raw_events(id BIGINT, uid BIGINT, amount BIGINT, ts BIGINT)");
  std::string buf;
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n;) {
    Sql(c, "BEGIN");
    PGresult* r = PQexec(c, "COPY raw_events(id, uid, amount, ts) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) Die(std::string("copy: ") + PQresultErrorMessage(r));
    PQclear(r);
    for (int64_t k = 0; k < txn_rows && i < n; ++k, ++i) {
      const Event e = MakeEvent(i);
      buf += std::to_string(e.id) + '\t' + std::to_string(e.uid) + '\t' + std::to_string(e.amount) +
             '\t' + std::to_string(e.ts) + '\n';
      if (buf.size() >= (1 << 20)) {
        PQputCopyData(c, buf.data(), static_cast<int>(buf.size()));
        buf.clear();
      }
    }
    if (!buf.empty()) PQputCopyData(c, buf.data(), static_cast<int>(buf.size()));
    buf.clear();
    PQputCopyEnd(c, nullptr);
    while (PGresult* x = PQgetResult(c)) {
      if (PQresultStatus(x) != PGRES_COMMAND_OK)
        Die(std::string("copy: ") + PQresultErrorMessage(x));
      PQclear(x);
    }
    Sql(c, "COMMIT");
  }
  return static_cast<double>(n) / Seconds(Clock::now() - t0);
}

// For comparison: prepared INSERTs in pipeline mode, synced every 1000 rows, same transactions.
double RawPipelinedInserts(PGconn* c, int64_t n, int64_t txn_rows) {
  Sql(c, "CREATE TABLE pipe_events(id BIGINT, uid BIGINT, amount BIGINT, ts BIGINT)");
  PGresult* p = PQprepare(c, "ins", "INSERT INTO pipe_events VALUES($1, $2, $3, $4)", 4, nullptr);
  if (PQresultStatus(p) != PGRES_COMMAND_OK)
    Die(std::string("prepare: ") + PQresultErrorMessage(p));
  PQclear(p);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n;) {
    Sql(c, "BEGIN");
    for (int64_t k = 0; k < txn_rows && i < n;) {
      PQenterPipelineMode(c);
      int sent = 0;
      for (; sent < 1000 && k < txn_rows && i < n; ++sent, ++k, ++i) {
        const Event e = MakeEvent(i);
        const std::string v[] = {std::to_string(e.id), std::to_string(e.uid),
                                 std::to_string(e.amount), std::to_string(e.ts)};
        const char* values[] = {v[0].c_str(), v[1].c_str(), v[2].c_str(), v[3].c_str()};
        PQsendQueryPrepared(c, "ins", 4, values, nullptr, nullptr, 0);
      }
      PQpipelineSync(c);
      while (true) {
        PGresult* r = PQgetResult(c);
        if (r == nullptr) continue;
        const ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC) break;
        if (st != PGRES_COMMAND_OK) Die(std::string("insert: ") + PQerrorMessage(c));
      }
      PQexitPipelineMode(c);
    }
    Sql(c, "COMMIT");
  }
  return static_cast<double>(n) / Seconds(Clock::now() - t0);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "build-bench/benchdata";
  const char* env = std::getenv("ONCEFLOW_TEST_POSTGRES");
  std::string conninfo = env != nullptr ? env : "";
  int64_t records = 1000000;
  int reps = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--dir")
      dir = next();
    else if (a == "--conninfo")
      conninfo = next();
    else if (a == "--records")
      records = std::atoll(next().c_str());
    else if (a == "--reps")
      reps = std::atoi(next().c_str());
    else {
      std::printf("usage: %s --conninfo CONNINFO [--dir DIR] [--records N] [--reps R]\n", argv[0]);
      return a == "--help" ? 0 : 2;
    }
  }
  if (conninfo.empty()) Die("no --conninfo and no $ONCEFLOW_TEST_POSTGRES");
  const int64_t per_partition = 50000;
  std::printf("pipeline_postgres_bench: %lld records, %d reps, load average %.2f\n",
              static_cast<long long>(records), reps, onceflow::bench::LoadAverage());
  std::vector<double> engine, ceiling, pipelined;
  for (int r = 0; r < reps; ++r) {
    const std::string data = onceflow::JoinPath(dir, "pg-" + std::to_string(r));
    (void)onceflow::RemoveAll(data);
    (void)onceflow::CreateDirs(data);
    Produce(data, records);
    // A fresh schema per repetition: the sink's tables and the ceiling's side by side.
    const std::string schema = "bench_" + std::to_string(r);
    PGconn* admin = onceflow::bench::Connect(conninfo);
    const std::string scoped = onceflow::bench::FreshSchema(admin, conninfo, schema);
    engine.push_back(PipelineRun(data, scoped, records, per_partition));
    PGconn* c = onceflow::bench::Connect(scoped);
    if (onceflow::bench::SqlInt(c, "SELECT count(*) FROM events") != records) {
      Die("check: the sink does not hold every record once");
    }
    ceiling.push_back(RawCopy(c, records, 4 * per_partition));
    pipelined.push_back(RawPipelinedInserts(c, records, 4 * per_partition));
    std::printf("  rep %d: pipeline %.0f rec/s, raw COPY %.0f rec/s, raw pipelined INSERT %.0f "
                "rec/s\n",
                r, engine.back(), ceiling.back(), pipelined.back());
    std::fflush(stdout);
    PQfinish(c);
    Sql(admin, "DROP SCHEMA " + schema + " CASCADE");
    PQfinish(admin);
    (void)onceflow::RemoveAll(data);
  }
  const double e = Median(engine), c = Median(ceiling), p = Median(pipelined);
  std::printf("throughput (median of %d): pipeline %.0f records/s, COPY ceiling %.0f records/s, "
              "ratio %.2f; pipelined INSERT %.0f records/s (%.2f of COPY)\n",
              reps, e, c, e / c, p, p / c);
  std::printf("load average at the end %.2f\n", onceflow::bench::LoadAverage());
  return 0;
}
