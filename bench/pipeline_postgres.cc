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

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "log/topic.h"
#include "onceflow/pipeline.h"
#include "util/file.h"

namespace {

using onceflow::bench::Median;
using onceflow::bench::Seconds;

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what, const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), why.c_str());
  std::exit(1);
}

struct Event {
  int64_t id, uid, amount, ts;
};

Event MakeEvent(int64_t i) { return {i, (i * 7919) % 100000, i % 1000 + 1, 1700000000000 + i}; }

std::string EventJson(const Event& e) {
  return "{\"id\":" + std::to_string(e.id) + ",\"uid\":" + std::to_string(e.uid) +
         ",\"amount\":" + std::to_string(e.amount) + ",\"ts\":" + std::to_string(e.ts) + "}";
}

void Produce(const std::string& data, int64_t n) {
  onceflow::log::TopicConfig config;
  config.partitions = 4;
  auto topic = onceflow::log::Topic::Create(data, "events", config);
  if (!topic.has_value()) Die("create topic", topic.error().ToString());
  std::vector<onceflow::log::BatchBuilder> builders(4);
  std::string key, value;
  for (int64_t i = 0; i < n; ++i) {
    const Event e = MakeEvent(i);
    key = std::to_string(e.uid);
    value = EventJson(e);
    const onceflow::PartitionId p = (*topic)->PartitionForKey(key);
    builders[p.value()].Add(onceflow::RecordView{key, value, e.ts, {}});
    if (builders[p.value()].size_bytes() > (1 << 20)) {
      auto r = (*(*topic)->partition(p))->Append(builders[p.value()].Finish());
      if (!r.has_value()) Die("append", r.error().ToString());
    }
  }
  for (int p = 0; p < 4; ++p) {
    if (builders[p].empty()) continue;
    auto r = (*(*topic)->partition(onceflow::PartitionId(p)))->Append(builders[p].Finish());
    if (!r.has_value()) Die("append", r.error().ToString());
  }
}

class Conn {
 public:
  explicit Conn(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) Die("connect", PQerrorMessage(c_));
    PQsetNoticeProcessor(
        c_, [](void*, const char*) {}, nullptr);
  }
  ~Conn() { PQfinish(c_); }
  void Exec(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Die(sql, PQresultErrorMessage(r));
    PQclear(r);
  }
  std::string One(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
      Die(sql, PQresultErrorMessage(r));
    std::string v = PQgetvalue(r, 0, 0);
    PQclear(r);
    return v;
  }
  PGconn* get() { return c_; }

 private:
  PGconn* c_;
};

const char* kCreateEvents =
    "CREATE TABLE IF NOT EXISTS events(id BIGINT, uid BIGINT, amount BIGINT, ts BIGINT)";

double PipelineRun(const std::string& data, const std::string& conninfo, int64_t n,
                   int64_t per_partition) {
  const std::string toml = data + "/bench.toml";
  std::string text = "name = \"bench\"\nbatch_interval_ms = 1\nmax_records_per_partition = " +
                     std::to_string(per_partition) +
                     "\nbatch_sizing = \"fixed\"\n[source]\ntype = \"log\"\ntopic = "
                     "\"events\"\nformat = \"json\"\n"
                     "[sink]\ntype = \"postgres\"\nconninfo = \"" +
                     conninfo + "\"\ninit = [\"" + kCreateEvents +
                     "\"]\nmode = \"append\"\ntable = \"events\"\n";
  if (!onceflow::WriteFileAtomically(toml, text).ok()) Die("write", toml);
  auto pipeline = onceflow::Pipeline::FromConfigFile(toml);
  if (!pipeline.has_value()) Die("config", pipeline.error().ToString());
  onceflow::RunOptions o;
  o.data_dir = data;
  o.until_caught_up = true;
  o.on_log = [](const std::string&) {};
  const auto t0 = Clock::now();
  onceflow::Status s = (*pipeline)->Run(o);
  const double secs = Seconds(Clock::now() - t0);
  if (!s.ok()) Die("run", s.ToString());
  if ((*pipeline)->stats().records_in != n) Die("run", "did not read every record");
  return static_cast<double>(n) / secs;
}

// The ceiling: COPY of the same rows in transactions of txn_rows, one durable COMMIT each.
double RawCopy(Conn& c, int64_t n, int64_t txn_rows) {
  c.Exec("CREATE TABLE raw_events(id BIGINT, uid BIGINT, amount BIGINT, ts BIGINT)");
  std::string buf;
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n;) {
    c.Exec("BEGIN");
    PGresult* r = PQexec(c.get(), "COPY raw_events(id, uid, amount, ts) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) Die("copy", PQresultErrorMessage(r));
    PQclear(r);
    for (int64_t k = 0; k < txn_rows && i < n; ++k, ++i) {
      const Event e = MakeEvent(i);
      buf += std::to_string(e.id) + '\t' + std::to_string(e.uid) + '\t' + std::to_string(e.amount) +
             '\t' + std::to_string(e.ts) + '\n';
      if (buf.size() >= (1 << 20)) {
        PQputCopyData(c.get(), buf.data(), static_cast<int>(buf.size()));
        buf.clear();
      }
    }
    if (!buf.empty()) PQputCopyData(c.get(), buf.data(), static_cast<int>(buf.size()));
    buf.clear();
    PQputCopyEnd(c.get(), nullptr);
    while (PGresult* x = PQgetResult(c.get())) {
      if (PQresultStatus(x) != PGRES_COMMAND_OK) Die("copy", PQresultErrorMessage(x));
      PQclear(x);
    }
    c.Exec("COMMIT");
  }
  return static_cast<double>(n) / Seconds(Clock::now() - t0);
}

// For comparison: prepared INSERTs in pipeline mode, synced every 1000 rows, same transactions.
double RawPipelinedInserts(Conn& c, int64_t n, int64_t txn_rows) {
  c.Exec("CREATE TABLE pipe_events(id BIGINT, uid BIGINT, amount BIGINT, ts BIGINT)");
  PGresult* p =
      PQprepare(c.get(), "ins", "INSERT INTO pipe_events VALUES($1, $2, $3, $4)", 4, nullptr);
  if (PQresultStatus(p) != PGRES_COMMAND_OK) Die("prepare", PQresultErrorMessage(p));
  PQclear(p);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n;) {
    c.Exec("BEGIN");
    for (int64_t k = 0; k < txn_rows && i < n;) {
      PQenterPipelineMode(c.get());
      int sent = 0;
      for (; sent < 1000 && k < txn_rows && i < n; ++sent, ++k, ++i) {
        const Event e = MakeEvent(i);
        const std::string v[] = {std::to_string(e.id), std::to_string(e.uid),
                                 std::to_string(e.amount), std::to_string(e.ts)};
        const char* values[] = {v[0].c_str(), v[1].c_str(), v[2].c_str(), v[3].c_str()};
        PQsendQueryPrepared(c.get(), "ins", 4, values, nullptr, nullptr, 0);
      }
      PQpipelineSync(c.get());
      while (true) {
        PGresult* r = PQgetResult(c.get());
        if (r == nullptr) continue;
        const ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC) break;
        if (st != PGRES_COMMAND_OK) Die("insert", PQerrorMessage(c.get()));
      }
      PQexitPipelineMode(c.get());
    }
    c.Exec("COMMIT");
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
  if (conninfo.empty())
    Die("pipeline_postgres_bench", "no --conninfo and no $ONCEFLOW_TEST_POSTGRES");
  const int64_t per_partition = 50000;
  double load[3] = {0, 0, 0};
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    std::fclose(f);
  }
  std::printf("pipeline_postgres_bench: %lld records, %d reps, load average %.2f\n",
              static_cast<long long>(records), reps, load[0]);
  std::vector<double> engine, ceiling, pipelined;
  for (int r = 0; r < reps; ++r) {
    const std::string data = onceflow::JoinPath(dir, "pg-" + std::to_string(r));
    (void)onceflow::RemoveAll(data);
    (void)onceflow::CreateDirs(data);
    Produce(data, records);
    // A fresh schema per repetition: the sink's tables and the ceiling's side by side.
    const std::string schema = "bench_" + std::to_string(r);
    Conn admin(conninfo);
    admin.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    admin.Exec("CREATE SCHEMA " + schema);
    const std::string scoped = conninfo + " options='-csearch_path=" + schema + "'";
    engine.push_back(PipelineRun(data, scoped, records, per_partition));
    Conn c(scoped);
    if (c.One("SELECT count(*) FROM events") != std::to_string(records)) {
      Die("check", "the sink does not hold every record once");
    }
    ceiling.push_back(RawCopy(c, records, 4 * per_partition));
    pipelined.push_back(RawPipelinedInserts(c, records, 4 * per_partition));
    std::printf("  rep %d: pipeline %.0f rec/s, raw COPY %.0f rec/s, raw pipelined INSERT %.0f "
                "rec/s\n",
                r, engine.back(), ceiling.back(), pipelined.back());
    std::fflush(stdout);
    admin.Exec("DROP SCHEMA " + schema + " CASCADE");
    (void)onceflow::RemoveAll(data);
  }
  const double e = Median(engine), c = Median(ceiling), p = Median(pipelined);
  std::printf("throughput (median of %d): pipeline %.0f records/s, COPY ceiling %.0f records/s, "
              "ratio %.2f; pipelined INSERT %.0f records/s (%.2f of COPY)\n",
              reps, e, c, e / c, p, p / c);
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load[0]) == 1)
      std::printf("load average at the end %.2f\n", load[0]);
    std::fclose(f);
  }
  return 0;
}
