// kafka_pg_bench: the exactly-once pipeline Kafka -> JSON -> PostgreSQL (append) against the
// at-least-once ceiling in the same run; end-to-end latency at a fixed offered rate; and the
// contrast that motivates onceflow: a naive consumer (write, then commit offsets) SIGKILLed a
// few times leaves duplicate rows.
//
//   kafka_pg_bench --bootstrap HOST:PORT --conninfo CONNINFO [--records N] [--reps R]
//                  [--naive-kills K] [--only throughput|latency|naive]
//
// bench/kafka_pg.sh starts a broker and a server (scripts/services/) and runs this.
//
// Throughput: N JSON records {id, account, amount, ts} in a 4-partition topic (idempotent
// producer). The pipeline reads them (read_committed, exact ranges) and appends them to a table
// exactly once, until caught up. The ceiling is what a hand-written consumer without guarantees
// does: assign the partitions, poll, parse the JSON (simdjson), COPY the rows into the same kind
// of table in transactions of the pipeline's batch size, no progress rows, no offsets stored;
// one thread polls and parses while another COPYs the previous buffer.
// Latency: a producer offers 10 records per millisecond (10 k records/s) for 5 s to a fresh
// topic, the pipeline runs with a 5 ms batch interval; a record's latency is from its delivery
// report (the broker has it) to the commit of its batch in PostgreSQL.
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_stats.h"
#include "fatal.h"
#include "kafka/kafka_client.h"
#include "kafka_bench_setup.h"
#include "kafka_events.h"
#include "onceflow/pipeline.h"
#include "pg_bench_client.h"
#include "util/file.h"

namespace {

using onceflow::bench::AssignedConsumer;
using onceflow::bench::Check;
using onceflow::bench::Connect;
using onceflow::bench::CopyRows;
using onceflow::bench::CreateTable;
using onceflow::bench::CreateTopic;
using onceflow::bench::Die;
using onceflow::bench::EventJson;
using onceflow::bench::ImmediateProducer;
using onceflow::bench::KafkaSourceToml;
using onceflow::bench::kPartitions;
using onceflow::bench::kTimeout;
using onceflow::bench::LoadPipelineToml;
using onceflow::bench::Median;
using onceflow::bench::NowNs;
using onceflow::bench::Percentile;
using onceflow::bench::Produce;
using onceflow::bench::ProduceAtRate;
using onceflow::bench::Seconds;
using onceflow::bench::Sql;
using onceflow::bench::SqlInt;

using Clock = std::chrono::steady_clock;
using onceflow::Status;
namespace kafka = onceflow::kafka;

// ---- the pipeline ----

std::string PipelineToml(const std::string& name, const std::string& bootstrap,
                         const std::string& topic, const std::string& conninfo,
                         const std::string& table, int interval_ms, int64_t per_partition) {
  return "name = \"" + name + "\"\nbatch_interval_ms = " + std::to_string(interval_ms) +
         "\nmax_records_per_partition = " + std::to_string(per_partition) +
         "\nbatch_sizing = \"fixed\"\n" + KafkaSourceToml(bootstrap, topic) +
         "[sink]\ntype = \"postgres\"\nconninfo = \"" + conninfo + "\"\ninit = [\"" +
         CreateTable(table) + "\"]\nmode = \"append\"\ntable = \"" + table + "\"\n";
}

double PipelineRun(const std::string& dir, const std::string& bootstrap, const std::string& topic,
                   const std::string& conninfo, const std::string& table, int64_t n,
                   int64_t per_partition) {
  auto p = LoadPipelineToml(
      dir, PipelineToml(topic, bootstrap, topic, conninfo, table, 1, per_partition));
  onceflow::RunOptions o;
  o.data_dir = dir;
  o.until_caught_up = true;
  o.on_log = [](const std::string&) {};
  const auto t0 = Clock::now();
  Check(p->Run(o), "pipeline run");
  const double secs = Seconds(Clock::now() - t0);
  if (p->stats().records_in != n) {
    Die("the pipeline read " + std::to_string(p->stats().records_in) + " records, expected " +
        std::to_string(n));
  }
  return static_cast<double>(n) / secs;
}

// ---- the ceiling: a plain consumer feeding COPY, no guarantees ----

double CeilingRun(const std::string& bootstrap, const std::string& topic,
                  const std::string& conninfo, const std::string& table, int64_t n,
                  int64_t txn_rows) {
  PGconn* pg = Connect(conninfo);
  Sql(pg, CreateTable(table));
  kafka::Handle c = AssignedConsumer(
      bootstrap, topic, "ceiling-" + topic,
      {{"fetch.max.bytes", "52428800"}, {"max.partition.fetch.bytes", "10485760"}});
  // Two threads, as a hand-written consumer that wants speed would do: this one polls and
  // parses into COPY buffers, the other COPYs the previous buffer meanwhile (one transaction
  // per buffer, no progress rows, no offsets stored).
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> ready;  // at most 2 buffers wait
  bool done = false;
  std::thread copier([&] {
    while (true) {
      std::string buf;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return done || !ready.empty(); });
        if (ready.empty()) return;
        buf = std::move(ready.front());
        ready.pop_front();
      }
      cv.notify_all();
      CopyRows(pg, table, buf);
    }
  });
  auto hand_over = [&](std::string&& buf) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return ready.size() < 2; });
    ready.push_back(std::move(buf));
    cv.notify_all();
  };
  simdjson::dom::parser parser;
  std::string rows, padded;
  int64_t in_txn = 0, total = 0;
  const auto t0 = Clock::now();
  while (total < n) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c.get(), 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      padded.assign(static_cast<const char*>(m->payload), m->len);
      padded.resize(m->len + simdjson::SIMDJSON_PADDING);
      simdjson::dom::element doc;
      if (parser.parse(padded.data(), m->len, false).get(doc) != simdjson::SUCCESS) {
        Die("ceiling: bad JSON");
      }
      for (const char* f : {"id", "account", "amount", "ts"}) {
        int64_t v = 0;
        if (doc[f].get_int64().get(v) != simdjson::SUCCESS) Die("ceiling: no field");
        rows += std::to_string(v);
        rows += f[0] == 't' ? '\n' : '\t';
      }
      ++in_txn;
      ++total;
      if (in_txn == txn_rows) {
        hand_over(std::exchange(rows, {}));
        in_txn = 0;
      }
    }
    rd_kafka_message_destroy(m);
  }
  if (in_txn > 0) hand_over(std::exchange(rows, {}));
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  copier.join();
  const double secs = Seconds(Clock::now() - t0);
  rd_kafka_consumer_close(c.get());
  if (SqlInt(pg, "SELECT COUNT(*) FROM " + table) != n) Die("ceiling: wrong row count");
  PQfinish(pg);
  return static_cast<double>(n) / secs;
}

// ---- latency at a fixed offered rate ----

struct Delivered {
  std::vector<std::vector<std::atomic<int64_t>>>* times;  // [partition][offset] ns
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* times = static_cast<std::vector<std::vector<std::atomic<int64_t>>>*>(opaque);
  auto& part = (*times)[static_cast<size_t>(m->partition)];
  if (static_cast<size_t>(m->offset) < part.size()) {
    part[static_cast<size_t>(m->offset)].store(NowNs(), std::memory_order_relaxed);
  }
}

std::vector<double> Latencies(const std::string& dir, const std::string& bootstrap,
                              const std::string& topic, const std::string& conninfo, int rate,
                              double seconds) {
  CreateTopic(bootstrap, topic);
  const size_t total = static_cast<size_t>(rate * seconds);
  // Offsets per partition stay below `total`: one vector of that size per partition.
  std::vector<std::vector<std::atomic<int64_t>>> delivered(kPartitions), committed(kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    delivered[p] = std::vector<std::atomic<int64_t>>(total);
    committed[p] = std::vector<std::atomic<int64_t>>(total);
  }
  std::atomic<size_t> committed_count{0};
  // A pipeline and table of its own: the sink's progress rows outlive the run's data dir.
  auto pipeline = LoadPipelineToml(
      dir, PipelineToml(topic, bootstrap, topic, conninfo, "lat_" + topic, 5, 100000));
  onceflow::RunOptions o;
  o.data_dir = dir;
  o.on_log = [](const std::string&) {};
  o.on_batch_committed = [&](const onceflow::BatchContext& ctx, const onceflow::PipelineStats&) {
    const int64_t now = NowNs();
    size_t n = 0;
    for (const auto& r : ctx.ranges) {
      auto& part = committed[static_cast<size_t>(r.partition.value())];
      for (int64_t off = r.from.value(); off < r.until.value(); ++off, ++n) {
        if (static_cast<size_t>(off) < part.size()) {
          part[static_cast<size_t>(off)].store(now, std::memory_order_relaxed);
        }
      }
    }
    if (committed_count.fetch_add(n) + n >= total) pipeline->Stop();
  };
  std::thread runner([&] { Check(pipeline->Run(o), "latency pipeline"); });

  kafka::Handle producer = ImmediateProducer(bootstrap, OnDelivery, &delivered);
  ProduceAtRate(
      producer.get(), topic, total, rate,
      [](size_t i) { return EventJson(static_cast<int64_t>(i)); }, "latency produce");
  runner.join();
  producer.reset();
  std::vector<double> latencies;
  for (int p = 0; p < kPartitions; ++p) {
    for (size_t off = 0; off < total; ++off) {
      const int64_t c = committed[p][off].load(), d = delivered[p][off].load();
      if (c == 0 || d == 0) continue;  // not an offset of this partition
      latencies.push_back(static_cast<double>(std::max<int64_t>(c - d, 0)) / 1e6);
    }
  }
  return latencies;
}

// ---- the contrast: a naive at-least-once consumer under kill -9 ----

// The child: resume at the group's committed offsets, poll up to 500 records, COPY them, then
// commit the offsets to the group; stop at the end of the topic. A kill between the COPY and
// the commit makes the next run write those records again.
[[noreturn]] void NaiveConsumer(const std::string& bootstrap, const std::string& topic,
                                const std::string& conninfo, const std::string& table,
                                int ready_fd) {
  PGconn* pg = Connect(conninfo);
  auto c = kafka::MakeClient(kafka::ClientKind::kConsumer, bootstrap,
                             {{"group.id", "naive-" + topic},
                              {"enable.auto.commit", "false"},
                              {"auto.offset.reset", "earliest"}});
  if (!c.has_value()) Die("naive consumer: " + c.error().ToString());
  rd_kafka_poll_set_consumer(c->get());
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kPartitions);
  std::vector<int64_t> end(kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
    auto marks = kafka::Watermarks(c->get(), topic, p, kTimeout);
    if (!marks.has_value()) Die("naive watermarks: " + marks.error().ToString());
    end[static_cast<size_t>(p)] = marks->second;
  }
  // Where the group left off (what a consumer that subscribes would resume from).
  if (rd_kafka_committed(c->get(), list, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) Die("committed");
  for (int p = 0; p < kPartitions; ++p) {
    if (list->elems[p].offset < 0) list->elems[p].offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(c->get(), list);
  simdjson::dom::parser parser;
  std::string rows, padded;
  std::vector<int64_t> next(kPartitions, 0);
  for (int p = 0; p < kPartitions; ++p)
    next[static_cast<size_t>(p)] = std::max<int64_t>(list->elems[p].offset, 0);
  while (true) {
    bool done = true;
    for (int p = 0; p < kPartitions; ++p)
      done = done && next[static_cast<size_t>(p)] >= end[static_cast<size_t>(p)];
    if (done) break;
    int got = 0;
    rows.clear();
    while (got < 500) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c->get(), got == 0 ? 100 : 0);
      if (m == nullptr) break;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        next[static_cast<size_t>(m->partition)] = m->offset + 1;
        padded.assign(static_cast<const char*>(m->payload), m->len);
        padded.resize(m->len + simdjson::SIMDJSON_PADDING);
        simdjson::dom::element doc;
        if (parser.parse(padded.data(), m->len, false).get(doc) == simdjson::SUCCESS) {
          for (const char* f : {"id", "account", "amount", "ts"}) {
            int64_t v = 0;
            if (doc[f].get_int64().get(v) != simdjson::SUCCESS) v = -1;
            rows += std::to_string(v);
            rows += f[0] == 't' ? '\n' : '\t';
          }
          ++got;
        }
      }
      rd_kafka_message_destroy(m);
    }
    if (got == 0) continue;
    if (ready_fd >= 0) {  // tell the parent that records flow: its kill comes after this
      [[maybe_unused]] ssize_t w = ::write(ready_fd, "r", 1);
      ::close(ready_fd);
      ready_fd = -1;
    }
    CopyRows(pg, table, rows);  // the effect...
    for (int p = 0; p < kPartitions; ++p) list->elems[p].offset = next[static_cast<size_t>(p)];
    rd_kafka_commit(c->get(), list, 0);  // ... then the offsets
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(c->get());
  std::_Exit(0);
}

struct NaiveResult {
  int kills = 0;
  int64_t rows = 0, distinct = 0;
};

NaiveResult NaiveUnderKills(const std::string& bootstrap, const std::string& topic,
                            const std::string& conninfo, int kills, uint64_t seed) {
  const std::string table = "naive_" + topic;
  {
    PGconn* pg = Connect(conninfo);
    Sql(pg, "DROP TABLE IF EXISTS " + table);
    Sql(pg, CreateTable(table));
    PQfinish(pg);
  }
  std::mt19937_64 rng(seed);
  // The kill comes at a random moment once records flow (startup is not where the naive
  // consumer goes wrong).
  std::uniform_int_distribution<int> delay_ms(0, 150);
  NaiveResult r;
  for (int run = 0; run <= kills; ++run) {
    int ready[2];
    if (::pipe(ready) != 0) Die("pipe");
    const pid_t pid = ::fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      ::close(ready[0]);
      NaiveConsumer(bootstrap, topic, conninfo, table, ready[1]);
    }
    ::close(ready[1]);
    char byte;
    const bool flowing = ::read(ready[0], &byte, 1) == 1;  // 0: it ended without consuming
    ::close(ready[0]);
    int status = 0;
    if (run < kills && flowing) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
      if (::waitpid(pid, &status, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ++r.kills;
      }
    }
    ::waitpid(pid, &status, 0);
  }
  PGconn* pg = Connect(conninfo);
  r.rows = SqlInt(pg, "SELECT COUNT(*) FROM " + table);
  r.distinct = SqlInt(pg, "SELECT COUNT(DISTINCT id) FROM " + table);
  PQfinish(pg);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap =
      std::getenv("ONCEFLOW_TEST_KAFKA") ? std::getenv("ONCEFLOW_TEST_KAFKA") : "";
  std::string conninfo =
      std::getenv("ONCEFLOW_TEST_POSTGRES") ? std::getenv("ONCEFLOW_TEST_POSTGRES") : "";
  int64_t records = 500000;
  int reps = 3;
  int naive_kills = 3;
  std::string only;
  std::string dir = "build-release/benchdata/kafka_pg";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--bootstrap")
      bootstrap = next();
    else if (a == "--conninfo")
      conninfo = next();
    else if (a == "--records")
      records = std::atoll(next().c_str());
    else if (a == "--reps")
      reps = std::atoi(next().c_str());
    else if (a == "--naive-kills")
      naive_kills = std::atoi(next().c_str());
    else if (a == "--only")
      only = next();
    else if (a == "--dir")
      dir = next();
    else {
      std::printf("usage: %s --bootstrap HOST:PORT --conninfo CONNINFO [--records N] [--reps R]\n"
                  "          [--naive-kills K] [--only throughput|latency|naive] [--dir DIR]\n"
                  "(bench/kafka_pg.sh starts a broker and a server and runs this)\n",
                  argv[0]);
      return a == "--help" ? 0 : 2;
    }
  }
  if (bootstrap.empty() || conninfo.empty()) Die("--bootstrap and --conninfo are required");
  const auto part = [&](const char* name) { return only.empty() || only == name; };
  const std::string run_id = std::to_string(::getpid());
  const int64_t per_partition = 50000;
  std::printf("kafka_pg_bench: %lld records, %d reps, 4 partitions, batches of up to 4 x %lld\n",
              static_cast<long long>(records), reps, static_cast<long long>(per_partition));
  std::fflush(stdout);
  if (part("throughput")) {
    std::vector<double> engine, ceiling;
    for (int r = 0; r < reps; ++r) {
      const std::string topic = "bench_" + run_id + "_" + std::to_string(r);
      const std::string data = onceflow::JoinPath(dir, topic);
      (void)onceflow::RemoveAll(data);
      Check(onceflow::CreateDirs(data), "mkdir " + data);
      CreateTopic(bootstrap, topic);
      Produce(bootstrap, topic, records);
      engine.push_back(
          PipelineRun(data, bootstrap, topic, conninfo, "eo_" + topic, records, per_partition));
      ceiling.push_back(
          CeilingRun(bootstrap, topic, conninfo, "alo_" + topic, records, 4 * per_partition));
      std::printf("  rep %d: exactly once %.0f rec/s, at-least-once ceiling %.0f rec/s\n", r,
                  engine.back(), ceiling.back());
      std::fflush(stdout);
      (void)onceflow::RemoveAll(data);
    }
    const double e = Median(engine), c = Median(ceiling);
    std::printf("throughput (median of %d): exactly once %.0f records/s, at-least-once ceiling "
                "%.0f records/s, ratio %.2f (target >= 0.90: %s)\n",
                reps, e, c, e / c, e / c >= 0.9 ? "PASS" : "MISS");
  }
  if (part("latency")) {
    const std::string topic = "latency_" + run_id;
    const std::string data = onceflow::JoinPath(dir, topic);
    (void)onceflow::RemoveAll(data);
    Check(onceflow::CreateDirs(data), "mkdir " + data);
    std::vector<double> lat = Latencies(data, bootstrap, topic, conninfo, 10000, 5.0);
    std::printf("latency at 10k records/s, 5 ms batch interval (%zu records): p50 %.2f ms, "
                "p99 %.2f ms\n",
                lat.size(), Percentile(lat, 0.5), Percentile(lat, 0.99));
    (void)onceflow::RemoveAll(data);
  }
  if (part("naive") && naive_kills > 0) {
    const std::string topic = "naive_" + run_id;
    CreateTopic(bootstrap, topic);
    Produce(bootstrap, topic, 200000);
    NaiveResult n =
        NaiveUnderKills(bootstrap, topic, conninfo, naive_kills, std::random_device{}());
    std::printf("contrast: a naive consumer (COPY, then commit offsets) SIGKILLed %d times: %lld "
                "rows for %lld distinct ids: %lld duplicates\n",
                n.kills, static_cast<long long>(n.rows), static_cast<long long>(n.distinct),
                static_cast<long long>(n.rows - n.distinct));
  }
  return 0;
}
