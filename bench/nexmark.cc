// nexmark_bench: the Nexmark queries of examples/nexmark/ run by the `onceflow` binary, per
// query and sink: events/s and events/s per core (the process's user + system CPU time, as
// Nexmark's Cores x Time metric), beside Flink's published per-core figure; the generator
// alone; and the raw SQLite insert ceiling of q0's rows in the same run.
//
//   nexmark_bench --onceflow BIN --examples DIR [--dir DIR] [--events N] [--reps R]
//                 [--queries q0,q5,q7] [--sinks blackhole,sqlite,postgres,kafka]
//                 [--conninfo C] [--kafka BOOTSTRAP]
//
// Events are counted as Nexmark counts them: every event the generator makes (people, auctions
// and bids), of which the bid queries read the bids (46 in 50). Each run is a fresh data
// directory and sink (`run --until-caught-up`), the example's file with `events` and the sink
// replaced; the figure is the median of R runs.
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "kafka/kafka_client.h"
#include "kafka_events.h"
#include "nexmark_ceilings.h"
#include "onceflow/row.h"
#include "pg_bench_client.h"
#include "source/nexmark_model.h"
#include "source/nexmark_source.h"

namespace {

using onceflow::NexmarkKind;
using onceflow::NexmarkSourceOptions;
using onceflow::bench::Median;
using Clock = std::chrono::steady_clock;
namespace nx = onceflow::source::nexmark;

struct Options {
  std::string onceflow;
  std::string examples;
  std::string dir = "/tmp/nexmark-bench";
  int64_t events = 10'000'000;
  int reps = 3;
  std::vector<std::string> queries = {"q0", "q5", "q7"};
  std::vector<std::string> sinks = {"blackhole", "sqlite"};
  std::string conninfo;   // postgres: --conninfo or $ONCEFLOW_TEST_POSTGRES
  std::string bootstrap;  // kafka: --kafka or $ONCEFLOW_TEST_KAFKA
};

// A name no other run of this process or of another used: pipelines, tables and topics of
// the PostgreSQL server and Kafka broker the test runs share.
std::string UniqueName(const std::string& query, int rep) {
  return "nxbench_" + query + "_" + std::to_string(getpid()) + "_" +
         std::to_string(static_cast<long long>(time(nullptr))) + "_" + std::to_string(rep);
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) out.push_back(part);
  return out;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "nexmark_bench: %s\n", what.c_str());
  std::exit(1);
}

double CpuSeconds(const rusage& u) {
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Flink 1.13, nexmark/nexmark's reference run (8 x 1-slot TaskManagers, exactly-once
// checkpoints every 3 min, RocksDB, 100 M events): events/s per core.
const std::map<std::string, double> kFlinkPerCore = {{"q0", 155e3},  {"q1", 158e3}, {"q2", 175e3},
                                                     {"q5", 22e3},   {"q7", 12e3},  {"q14", 161e3},
                                                     {"q17", 117e3}, {"q21", 99e3}, {"q22", 130e3}};

// The example's file with `events` and the pipeline's name (`name`) replaced and, for the
// blackhole, PostgreSQL and Kafka, its [sink] table replaced (output into table or topic
// `name`).
std::string PipelineFile(const Options& o, const std::string& query, const std::string& sink,
                         const std::string& name) {
  std::ifstream in(o.examples + "/" + query + ".toml");
  if (!in) Die("cannot read " + o.examples + "/" + query + ".toml");
  std::stringstream s;
  s << in.rdbuf();
  std::string toml = s.str();
  const size_t at = toml.find("events = 1000000");
  if (at == std::string::npos) Die(query + ".toml: no 'events = 1000000'");
  toml.replace(at, 16, "events = " + std::to_string(o.events));
  const size_t name_at = toml.find("name = \"");
  if (name_at == std::string::npos) Die(query + ".toml: no name");
  toml.replace(name_at, toml.find('\n', name_at) - name_at, "name = \"" + name + "\"");
  const std::string head = toml.substr(0, toml.find("[sink]")) + "[sink]\n";
  if (sink == "blackhole") {
    toml = head + "type = \"blackhole\"\n";
  } else if (sink == "postgres") {
    toml = head + "type = \"postgres\"\nconninfo = \"" + o.conninfo +
           "\"\ninit = [\"CREATE TABLE " + name + " (" + onceflow::bench::PgColumns(query) +
           ")\"]\ntable = \"" + name + "\"\n";
  } else if (sink == "kafka") {
    toml =
        head + "type = \"kafka\"\nbootstrap = \"" + o.bootstrap + "\"\ntopic = \"" + name + "\"\n";
  } else if (sink != "sqlite") {
    Die("unknown sink " + sink + " (blackhole, sqlite, postgres, kafka)");
  }
  return toml;
}

struct RunFigures {
  double wall = 0;
  double cpu = 0;
};

// Runs `onceflow run FILE --until-caught-up` in a fresh directory; wall and CPU time of the
// child process.
RunFigures RunPipeline(const Options& o, const std::string& toml) {
  const std::string dir = o.dir + "/run";
  if (std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()) != 0) {
    Die("cannot make " + dir);
  }
  const std::string file = dir + "/pipeline.toml";
  std::ofstream(file) << toml;
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string data = dir + "/data";
    const std::string err = dir + "/stderr";
    if (std::freopen(err.c_str(), "w", stderr) == nullptr) _exit(127);
    execl(o.onceflow.c_str(), o.onceflow.c_str(), "run", file.c_str(), "--until-caught-up",
          "--data", data.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid) Die("wait4");
  RunFigures f;
  f.wall = onceflow::bench::Seconds(Clock::now() - start);
  f.cpu = CpuSeconds(usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream err(dir + "/stderr");
    std::stringstream e;
    e << err.rdbuf();
    Die("onceflow run failed: " + e.str());
  }
  return f;
}

// The generator alone, on this thread: events/s of CPU time making the events; making them
// as the Rows the source hands a task (NexmarkSource::ReadRows, the path a pipeline takes),
// reused as a combining task reuses them, and kept, as a task that outputs every row does
// (moved into a batch of 100 000, as q0's tasks); and as JSON records (NexmarkSource::Read,
// what `onceflow nexmark generate` writes and a pipeline took before the rows).
void Generator(const Options& o) {
  NexmarkSourceOptions options;
  options.events = o.events;
  options.kind = NexmarkKind::kAll;
  std::vector<double> structs, rows, kept, records;
  auto source = onceflow::source::NexmarkSource::Open(options);
  if (!source.has_value()) Die(source.error().ToString());
  const onceflow::PartitionId p0(0);
  const onceflow::Offset from(0), until(o.events);
  for (int rep = 0; rep < o.reps; ++rep) {
    nx::Event e;
    int64_t sink = 0;
    double t0 = ThreadCpuSeconds();
    for (int64_t n = 0; n < o.events; ++n) {
      nx::Generate(options, n, &e);
      sink += e.price + e.id + static_cast<int64_t>(e.extra.size());
    }
    structs.push_back(static_cast<double>(o.events) / (ThreadCpuSeconds() - t0));
    t0 = ThreadCpuSeconds();
    onceflow::Status s =
        (*source)->ReadRows(p0, from, until, [&](onceflow::Offset, onceflow::Row* row, int64_t) {
          sink += static_cast<int64_t>(row->size());
          return onceflow::Status::Ok();
        });
    if (!s.ok()) Die(s.ToString());
    rows.push_back(static_cast<double>(o.events) / (ThreadCpuSeconds() - t0));
    std::vector<onceflow::Row> batch;
    batch.reserve(100'000);
    t0 = ThreadCpuSeconds();
    s = (*source)->ReadRows(p0, from, until, [&](onceflow::Offset, onceflow::Row* row, int64_t) {
      if (batch.size() == 100'000) batch.clear();
      batch.push_back(std::move(*row));
      return onceflow::Status::Ok();
    });
    if (!s.ok()) Die(s.ToString());
    kept.push_back(static_cast<double>(o.events) / (ThreadCpuSeconds() - t0));
    sink += static_cast<int64_t>(batch.size());
    batch = {};
    t0 = ThreadCpuSeconds();
    s = (*source)->Read(p0, from, until, [&](onceflow::Offset, const onceflow::RecordView& r) {
      sink += static_cast<int64_t>(r.value.size());
      return onceflow::Status::Ok();
    });
    if (!s.ok()) Die(s.ToString());
    records.push_back(static_cast<double>(o.events) / (ThreadCpuSeconds() - t0));
    if (sink == 42) std::printf(" ");  // keeps the loops from being optimised away
  }
  std::printf("generator, 1 thread, %lld events (all kinds), M events/s per core: %.2f events "
              "only, %.2f as rows (reused), %.2f as rows kept in batches, %.2f as JSON records\n",
              static_cast<long long>(o.events), Median(structs) / 1e6, Median(rows) / 1e6,
              Median(kept) / 1e6, Median(records) / 1e6);
}

// The ceiling of the SQLite sink for q0: the same rows (already generated, not decoded),
// inserted with one prepared statement in transactions of the pipeline's batch size (4
// partitions x 100 000 records), with the sink's durability (WAL, synchronous=FULL).
struct Ceiling {
  double rate = 0;      // events/s (wall)
  double per_core = 0;  // events/s of the thread's CPU time
};
Ceiling SqliteCeiling(const Options& o) {
  const std::string dir = o.dir + "/ceiling";
  if (std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()) != 0) {
    Die("cannot make " + dir);
  }
  sqlite3* db = nullptr;
  if (sqlite3_open((dir + "/q0.db").c_str(), &db) != SQLITE_OK) Die("sqlite3_open");
  auto exec = [&](const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) Die(sqlite3_errmsg(db));
  };
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("CREATE TABLE q0(auction INTEGER, bidder INTEGER, price INTEGER, date_time INTEGER, "
       "extra TEXT)");
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO q0 VALUES(?, ?, ?, ?, ?)", -1, &insert, nullptr);
  NexmarkSourceOptions options;
  options.events = o.events;
  const int64_t bids = nx::CountOf(NexmarkKind::kBid, o.events);
  const auto start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  nx::Event e;
  exec("BEGIN");
  for (int64_t j = 0; j < bids; ++j) {
    nx::Generate(options, nx::EventNumberOf(NexmarkKind::kBid, j), &e);
    sqlite3_bind_int64(insert, 1, e.auction);
    sqlite3_bind_int64(insert, 2, e.bidder);
    sqlite3_bind_int64(insert, 3, e.price);
    sqlite3_bind_int64(insert, 4, e.date_time);
    sqlite3_bind_text(insert, 5, e.extra.data(), static_cast<int>(e.extra.size()), SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE) Die(sqlite3_errmsg(db));
    sqlite3_reset(insert);
    if ((j + 1) % 400'000 == 0) {
      exec("COMMIT");
      exec("BEGIN");
    }
  }
  exec("COMMIT");
  const double seconds = onceflow::bench::Seconds(Clock::now() - start);
  const double cpu = ThreadCpuSeconds() - cpu_start;
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return {static_cast<double>(o.events) / seconds, static_cast<double>(o.events) / cpu};
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as it comes, also into a file
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--onceflow") {
      o.onceflow = value();
    } else if (a == "--examples") {
      o.examples = value();
    } else if (a == "--dir") {
      o.dir = value();
    } else if (a == "--events") {
      o.events = std::stoll(value());
    } else if (a == "--reps") {
      o.reps = std::stoi(value());
    } else if (a == "--queries") {
      o.queries = Split(value());
    } else if (a == "--sinks") {
      o.sinks = Split(value());
    } else if (a == "--conninfo") {
      o.conninfo = value();
    } else if (a == "--kafka") {
      o.bootstrap = value();
    } else {
      Die("unknown argument " + a +
          " (usage: nexmark_bench --onceflow BIN --examples DIR [--dir DIR] [--events N] "
          "[--reps R] [--queries q0,q5,q7] [--sinks blackhole,sqlite,postgres,kafka] "
          "[--conninfo C] [--kafka BOOTSTRAP])");
    }
  }
  if (o.onceflow.empty() || o.examples.empty()) Die("--onceflow and --examples are required");
  if (const char* pg = std::getenv("ONCEFLOW_TEST_POSTGRES"); o.conninfo.empty() && pg) {
    o.conninfo = pg;
  }
  if (const char* k = std::getenv("ONCEFLOW_TEST_KAFKA"); o.bootstrap.empty() && k) {
    o.bootstrap = k;
  }
  for (const std::string& sink : o.sinks) {
    if (sink == "postgres" && o.conninfo.empty()) Die("postgres: no --conninfo");
    if (sink == "kafka" && o.bootstrap.empty()) Die("kafka: no --kafka");
  }
  std::printf("nexmark_bench: %lld events per run, median of %d runs, %u hardware threads\n",
              static_cast<long long>(o.events), o.reps, std::thread::hardware_concurrency());
  Generator(o);
  std::printf("%-4s %-10s %12s %12s %10s %18s %10s\n", "q", "sink", "events/s", "cpu s", "cores",
              "events/s per core", "x Flink");
  for (const std::string& q : o.queries) {
    for (const std::string& sink : o.sinks) {
      std::vector<double> rate, per_core, cpu, cores;
      std::vector<double> c_rate, c_per_core, c_process_per_core, i_rate, i_per_core;
      for (int rep = 0; rep < o.reps; ++rep) {
        const std::string name = UniqueName(q, rep);
        if (sink == "kafka") onceflow::bench::CreateTopic(o.bootstrap, name);
        const RunFigures f = RunPipeline(o, PipelineFile(o, q, sink, name));
        rate.push_back(static_cast<double>(o.events) / f.wall);
        per_core.push_back(static_cast<double>(o.events) / f.cpu);
        cpu.push_back(f.cpu);
        cores.push_back(f.cpu / f.wall);
        // The sink's ceiling right after each run, so that both see the same machine.
        if (sink == "postgres") {
          PGconn* c = onceflow::bench::Connect(o.conninfo);
          onceflow::bench::Sql(c, "DROP TABLE " + name);
          onceflow::bench::Sql(c, "DELETE FROM onceflow_progress WHERE pipeline = '" + name + "'");
          PQfinish(c);
          auto copy = onceflow::bench::PgCopyCeiling(o.conninfo, q, name, o.events, 400'000);
          auto insert = onceflow::bench::PgInsertCeiling(o.conninfo, q, name, o.events, 400'000);
          c_rate.push_back(copy.rate);
          c_per_core.push_back(copy.per_core);
          i_rate.push_back(insert.rate);
          i_per_core.push_back(insert.per_core);
        } else if (sink == "kafka") {
          const std::string topic = name + "_ceiling";
          onceflow::bench::CreateTopic(o.bootstrap, topic);
          auto k = onceflow::bench::KafkaCeiling(o.bootstrap, q, topic, o.events);
          c_rate.push_back(k.rate);
          c_per_core.push_back(k.per_core);
          c_process_per_core.push_back(k.process_per_core);
        }
      }
      const auto flink = kFlinkPerCore.find(q);
      std::printf("%-4s %-10s %12.0f %12.2f %10.2f %18.0f %10.1f\n", q.c_str(), sink.c_str(),
                  Median(rate), Median(cpu), Median(cores), Median(per_core),
                  flink == kFlinkPerCore.end() ? 0.0 : Median(per_core) / flink->second);
      if (sink == "postgres") {
        std::printf("     ceiling: raw COPY of the same rows, 400 000 per transaction: %.0f "
                    "events/s (pipeline/ceiling %.2f), %.0f per core; raw multi-row INSERTs "
                    "(1000 rows each, same transactions): %.0f events/s (pipeline/ceiling "
                    "%.2f), %.0f per core\n",
                    Median(c_rate), Median(rate) / Median(c_rate), Median(c_per_core),
                    Median(i_rate), Median(rate) / Median(i_rate), Median(i_per_core));
      } else if (sink == "kafka") {
        std::printf("     ceiling: a plain (non-transactional, idempotent, acks=all) producer "
                    "of the same rows as JSON: %.0f events/s (pipeline/ceiling %.2f), %.0f per "
                    "core (the producer's calling thread), %.0f per core of the process "
                    "(librdkafka's threads too; pipeline/ceiling per core %.2f)\n",
                    Median(c_rate), Median(rate) / Median(c_rate), Median(c_per_core),
                    Median(c_process_per_core), Median(per_core) / Median(c_process_per_core));
      }
    }
  }
  if (std::find(o.sinks.begin(), o.sinks.end(), "sqlite") == o.sinks.end()) return 0;
  std::vector<double> ceiling, ceiling_per_core;
  for (int rep = 0; rep < o.reps; ++rep) {
    const Ceiling c = SqliteCeiling(o);
    ceiling.push_back(c.rate);
    ceiling_per_core.push_back(c.per_core);
  }
  std::printf("ceiling: raw SQLite inserts of q0's rows (generated, WAL, synchronous=FULL, "
              "400 000 rows per transaction, 1 thread): %.0f events/s, %.0f events/s per core\n",
              Median(ceiling), Median(ceiling_per_core));
  return 0;
}
