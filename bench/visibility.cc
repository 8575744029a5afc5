// visibility_bench: how long a record takes from being produced to being visible to a reader of
// the sink, exactly once, at a fixed rate, with the pipeline's default settings (issue 19), and
// beside it, in the same run, the same records through a plain path without any guarantee.
//
//   visibility_bench [--dir DIR] [--bootstrap HOST:PORT] [--conninfo CONNINFO] [--rate N]
//                    [--seconds S] [--reps R] [--only sqlite,kafka,pg,idle]
//
// A producer thread offers `rate` records/s (rate/1000 per 1 ms tick), each stamped with its
// produce time (steady clock, ns) in its JSON {id, account, amount, ts}. A reader sees each
// record when it becomes visible and records visible - produced:
//   sqlite  log (4 partitions, one durable append per tick) -> SQLite (append). The reader polls
//           the table every ~1 ms with a fresh read transaction. Ceiling: a plain durable append
//           of the same kind of records (one transaction per tick, WAL, synchronous=FULL) into a
//           second database, polled the same way, at the same time.
//   kafka   Kafka (4 partitions, idempotent producer, linger.ms 0) -> Kafka (transactional
//           sink). The reader is a read_committed consumer of the output topic. Ceiling: a plain
//           consumer of the input topic at the same time (plain produce + consume).
//   pg      Kafka -> PostgreSQL (append). The reader polls the table every ~1 ms (each SELECT
//           its own snapshot). Ceiling: a plain consumer of the input topic that INSERTs what
//           each poll returns (autocommit, no offsets stored) into a second table, polled the
//           same way, at the same time.
//   idle    the process CPU time of a running pipeline with nothing to do (log and Kafka
//           sources), over 10 s: what waking on new data costs.
// The first second of records is a warm-up and not counted; every record must be seen exactly
// once (a table's primary key refuses a duplicate; the Kafka reader counts them), else the
// program fails. Each run also reads the pipeline's batch history and prints its batches'
// visibility p50/p99 weighted by their records (record timestamp, wall clock ms -> the batch's
// commit record durable, which is after the sink's commit) as a cross-check.
// p50/p99/max per run; medians over `reps` runs.
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "checkpoint/checkpoint.h"
#include "fatal.h"
#include "kafka/kafka_client.h"
#include "kafka_bench_setup.h"
#include "kafka_events.h"
#include "log/record_batch.h"
#include "log/topic.h"
#include "onceflow/batch_history.h"
#include "onceflow/pipeline.h"
#include "pg_bench_client.h"
#include "util/file.h"

namespace {

using onceflow::bench::AssignedConsumer;
using onceflow::bench::Check;
using onceflow::bench::Connect;
using onceflow::bench::CreateTopic;
using onceflow::bench::Die;
using onceflow::bench::ImmediateProducer;
using onceflow::bench::kPartitions;
using onceflow::bench::LoadPipelineToml;
using onceflow::bench::Median;
using onceflow::bench::NowNs;
using onceflow::bench::OfferAtRate;
using onceflow::bench::Percentile;
using onceflow::bench::ProduceAtRate;
using onceflow::bench::Sql;
using onceflow::bench::SqlInt;
using Clock = std::chrono::steady_clock;
namespace kafka = onceflow::kafka;

constexpr const char* kColumns =
    "(id BIGINT PRIMARY KEY, account BIGINT, amount BIGINT, ts BIGINT)";

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Record `id` stamped with `stamp_ns`, the time it is produced.
std::string Stamped(int64_t id, int64_t stamp_ns) {
  return "{\"id\":" + std::to_string(id) + ",\"account\":" + std::to_string((id * 7919) % 100000) +
         ",\"amount\":" + std::to_string(id % 1000 + 1) + ",\"ts\":" + std::to_string(stamp_ns) +
         "}";
}

// The integer after `"name":` in `json`; -1 if absent.
int64_t JsonInt(std::string_view json, std::string_view name) {
  const std::string pattern = "\"" + std::string(name) + "\":";
  const size_t at = json.find(pattern);
  if (at == std::string_view::npos) return -1;
  return std::strtoll(json.data() + at + pattern.size(), nullptr, 10);
}

// What a reader has seen: each record once, its latency when it became visible. One thread.
// A table's poller sees the rows from the first unseen id again at every poll (`repeats`: not
// duplicates; the table's primary key refuses those); a Kafka reader sees each record once.
class Tracker {
 public:
  Tracker(size_t total, size_t warmup, bool repeats)
      : seen_(total, 0), warmup_(warmup), repeats_(repeats) {}

  void See(int64_t id, int64_t stamp_ns, int64_t now_ns) {
    if (id < 0 || static_cast<size_t>(id) >= seen_.size()) Die("unknown id " + std::to_string(id));
    if (seen_[static_cast<size_t>(id)] != 0) {
      if (!repeats_) ++duplicates_;
      return;
    }
    seen_[static_cast<size_t>(id)] = 1;
    ++count_;
    if (static_cast<size_t>(id) >= warmup_) {
      ms_.push_back(static_cast<double>(std::max<int64_t>(now_ns - stamp_ns, 0)) / 1e6);
    }
    while (min_unseen_ < seen_.size() && seen_[min_unseen_] != 0) ++min_unseen_;
  }
  bool Done() const { return count_ == seen_.size(); }
  size_t count() const { return count_; }
  size_t total() const { return seen_.size(); }
  int64_t duplicates() const { return duplicates_; }
  // Every id below this was seen: a poller asks for ids from here on.
  size_t min_unseen() const { return min_unseen_; }
  const std::vector<double>& ms() const { return ms_; }

 private:
  std::vector<char> seen_;
  size_t warmup_;
  bool repeats_;
  size_t count_ = 0;
  int64_t duplicates_ = 0;
  size_t min_unseen_ = 0;
  std::vector<double> ms_;
};

// Calls `poll` (which feeds the tracker and returns how many rows it saw) every ~1 ms until the
// tracker has every record or `guard` passes (then the run fails).
void PollUntilDone(Tracker* t, const std::function<size_t()>& poll, Clock::time_point guard,
                   const std::string& what) {
  while (!t->Done()) {
    if (Clock::now() > guard) {
      Die(what + ": saw " + std::to_string(t->count()) + " of " + std::to_string(t->total()) +
          " records before the guard");
    }
    if (poll() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (t->duplicates() != 0) Die(what + ": " + std::to_string(t->duplicates()) + " duplicates");
}

struct Figures {
  double p50 = 0, p99 = 0, max = 0;
};

// Where a batch's time goes (the batch history's phases, medians over batches, ms).
struct Phases {
  double planning = 0, intent = 0, compute = 0, sink = 0, commit_record = 0;
};

Figures Summarize(const std::vector<double>& ms) {
  return {Percentile(ms, 0.50), Percentile(ms, 0.99),
          ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end())};
}

// The batch history's view (record timestamp -> commit record durable, ms): the batches' p50
// and p99 weighted by their records, an approximation of the records' own p50 and p99.
Figures HistoryView(const std::string& data, const std::string& pipeline, Phases* phases) {
  auto h = onceflow::ReadBatchHistory(onceflow::checkpoint::CheckpointDir(data, pipeline));
  if (!h.has_value()) return {-1, -1, -1};
  std::vector<double> p50, p99;
  std::vector<double> planning, intent, compute, sink, commit_record;
  double max = 0;
  for (const auto& b : h->batches) {
    if (b.outcome != "committed" || b.visibility_p99_ms < 0) continue;
    planning.push_back(static_cast<double>(b.phases.planning_us) / 1e3);
    intent.push_back(static_cast<double>(b.phases.intent_us) / 1e3);
    compute.push_back(static_cast<double>(b.phases.compute_us) / 1e3);
    sink.push_back(static_cast<double>(b.phases.sink_commit_us) / 1e3);
    commit_record.push_back(static_cast<double>(b.phases.commit_record_us) / 1e3);
    for (int64_t i = 0; i < b.records_in; ++i) {
      p50.push_back(static_cast<double>(b.visibility_p50_ms));
      p99.push_back(static_cast<double>(b.visibility_p99_ms));
    }
    max = std::max(max, static_cast<double>(b.visibility_max_ms));
  }
  *phases = {Median(planning), Median(intent), Median(compute), Median(sink),
             Median(commit_record)};
  return {Percentile(p50, 0.5), Percentile(p99, 0.99), max};
}

struct RunResult {
  Figures pipeline, ceiling;
  Figures history;
  Phases phases;
  int64_t batches = 0;
};

// Runs `pipeline` on a thread of its own; Stop() and Join() end it.
class Running {
 public:
  Running(onceflow::Pipeline* p, const std::string& data) : p_(p) {
    o_.data_dir = data;
    o_.on_log = [](const std::string&) {};
    thread_ = std::thread([this] { Check(p_->Run(o_), "pipeline run"); });
  }
  int64_t Stop() {
    p_->Stop();
    thread_.join();
    return p_->stats().batches_committed;
  }

 private:
  onceflow::Pipeline* p_;
  onceflow::RunOptions o_;
  std::thread thread_;
};

// ---- SQLite ----

sqlite3* OpenDb(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) Die("open " + path);
  sqlite3_busy_timeout(db, 5000);
  return db;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Die(sql + ": " + (err != nullptr ? err : "?"));
  }
}

// A reader of `table` in the database at `path`: one SELECT (its own read transaction) per poll.
class SqlitePoller {
 public:
  SqlitePoller(const std::string& path, const std::string& table, Tracker* t) : t_(t) {
    db_ = OpenDb(path, /*read_only=*/true);
    const std::string sql = "SELECT id, ts FROM " + table + " WHERE id >= ?";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st_, nullptr) != SQLITE_OK) {
      Die(sql + ": " + sqlite3_errmsg(db_));
    }
  }
  ~SqlitePoller() {
    sqlite3_finalize(st_);
    sqlite3_close(db_);
  }
  size_t Poll() {
    const size_t before = t_->count();
    sqlite3_bind_int64(st_, 1, static_cast<int64_t>(t_->min_unseen()));
    int rc;
    while ((rc = sqlite3_step(st_)) == SQLITE_ROW) {
      t_->See(sqlite3_column_int64(st_, 0), sqlite3_column_int64(st_, 1), NowNs());
    }
    sqlite3_reset(st_);
    return t_->count() - before;
  }

 private:
  Tracker* t_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
};

RunResult RunSqlite(const std::string& data, int rate, double seconds, const std::string& id) {
  const size_t total = static_cast<size_t>(rate * seconds), warmup = static_cast<size_t>(rate);
  onceflow::log::TopicConfig config;
  config.partitions = kPartitions;
  auto topic = onceflow::log::Topic::Create(data, "vis", config);
  if (!topic.has_value()) Check(topic.error(), "create topic");
  const std::string db = data + "/vis.db", ceiling_db = data + "/ceiling.db";
  const std::string name = "vis_sqlite_" + id;
  auto pipeline =
      onceflow::PipelineBuilder(name)
          .FromLog({.topic = "vis"})
          .ToSqlite({.path = db,
                     .init = {std::string("CREATE TABLE IF NOT EXISTS events ") + kColumns},
                     .mode = onceflow::SinkMode::kAppend,
                     .table = "events"})
          .Build();
  if (!pipeline.has_value()) Check(pipeline.error(), "build");
  sqlite3* ceiling = OpenDb(ceiling_db, /*read_only=*/false);
  Exec(ceiling, "PRAGMA journal_mode=WAL");
  Exec(ceiling, "PRAGMA synchronous=FULL");
  Exec(ceiling, std::string("CREATE TABLE events ") + kColumns);
  Running running(pipeline->get(), data);
  // The sink creates its table at open: wait for it before polling.
  while (true) {
    sqlite3* probe = nullptr;
    if (sqlite3_open_v2(db.c_str(), &probe, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
        sqlite3_exec(probe, "SELECT 1 FROM events LIMIT 1", nullptr, nullptr, nullptr) ==
            SQLITE_OK) {
      sqlite3_close(probe);
      break;
    }
    sqlite3_close(probe);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));

  Tracker seen(total, warmup, true), ceiling_seen(total, warmup, true);
  const Clock::time_point guard =
      Clock::now() + std::chrono::seconds(static_cast<int64_t>(seconds) + 60);
  std::thread reader([&] {
    SqlitePoller poller(db, "events", &seen);
    PollUntilDone(
        &seen, [&] { return poller.Poll(); }, guard, "sqlite pipeline");
  });
  std::thread ceiling_reader([&] {
    SqlitePoller poller(ceiling_db, "events", &ceiling_seen);
    PollUntilDone(
        &ceiling_seen, [&] { return poller.Poll(); }, guard, "sqlite ceiling");
  });
  std::thread ceiling_writer([&] {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(ceiling, "INSERT INTO events VALUES (?, ?, ?, ?)", -1, &st, nullptr);
    OfferAtRate(total, rate, [&](size_t first, size_t n) {
      const int64_t stamp = NowNs();
      Exec(ceiling, "BEGIN");
      for (size_t i = first; i < first + n; ++i) {
        const auto v = static_cast<int64_t>(i);
        sqlite3_bind_int64(st, 1, v);
        sqlite3_bind_int64(st, 2, (v * 7919) % 100000);
        sqlite3_bind_int64(st, 3, v % 1000 + 1);
        sqlite3_bind_int64(st, 4, stamp);
        if (sqlite3_step(st) != SQLITE_DONE) Die("ceiling insert");
        sqlite3_reset(st);
      }
      Exec(ceiling, "COMMIT");
    });
    sqlite3_finalize(st);
  });
  size_t tick = 0;
  OfferAtRate(total, rate, [&](size_t first, size_t n) {
    const int64_t stamp = NowNs();
    const int64_t wall = WallMs();
    std::vector<std::string> values;
    for (size_t i = first; i < first + n; ++i) {
      values.push_back(Stamped(static_cast<int64_t>(i), stamp));
    }
    onceflow::log::BatchBuilder b;
    for (const auto& v : values) b.Add(onceflow::RecordView{std::nullopt, v, wall, {}});
    auto log = (*topic)->partition(onceflow::PartitionId(static_cast<int32_t>(tick++ % 4)));
    if (!log.has_value()) Check(log.error(), "partition");
    auto off = (*log)->Append(b.Finish());
    if (!off.has_value()) Check(off.error(), "append");
  });
  reader.join();
  ceiling_writer.join();
  ceiling_reader.join();
  RunResult r;
  r.batches = running.Stop();
  sqlite3_close(ceiling);
  r.pipeline = Summarize(seen.ms());
  r.ceiling = Summarize(ceiling_seen.ms());
  r.history = HistoryView(data, name, &r.phases);
  return r;
}

// ---- Kafka ----

// A consumer of every partition of `topic` from the start; read_committed or not.
kafka::Handle Reader(const std::string& bootstrap, const std::string& topic, bool committed) {
  return AssignedConsumer(bootstrap, topic, "vis-reader-" + topic,
                          {{"isolation.level", committed ? "read_committed" : "read_uncommitted"},
                           {"fetch.wait.max.ms", "10"},
                           {"fetch.error.backoff.ms", "10"}});
}

// Polls `consumer` for up to 1 ms; hands each record's value to `fn`. Returns the records seen.
size_t PollKafka(rd_kafka_t* consumer, const std::function<void(std::string_view)>& fn) {
  size_t n = 0;
  for (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 1); m != nullptr;
       m = rd_kafka_consumer_poll(consumer, 0)) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      fn(std::string_view(static_cast<const char*>(m->payload), m->len));
      ++n;
    }
    rd_kafka_message_destroy(m);
    if (n >= 10000) break;
  }
  return n;
}

void ProduceStamped(const std::string& bootstrap, const std::string& topic, size_t total,
                    int rate) {
  kafka::Handle producer = ImmediateProducer(bootstrap);
  ProduceAtRate(
      producer.get(), topic, total, rate,
      [](size_t i) { return Stamped(static_cast<int64_t>(i), NowNs()); }, "produce");
}

// The pipeline file's head: its name and its Kafka source.
std::string NamedKafkaSource(const std::string& name, const std::string& bootstrap,
                             const std::string& topic) {
  return "name = \"" + name + "\"\n" + onceflow::bench::KafkaSourceToml(bootstrap, topic);
}

// The ceiling reader of the input topic: sees each record as a plain consumer gets it.
void ReadInputPlain(const std::string& bootstrap, const std::string& topic, Tracker* t,
                    Clock::time_point guard) {
  kafka::Handle c = Reader(bootstrap, topic, /*committed=*/false);
  PollUntilDone(
      t,
      [&] {
        return PollKafka(c.get(), [&](std::string_view v) {
          t->See(JsonInt(v, "id"), JsonInt(v, "ts"), NowNs());
        });
      },
      guard, "kafka ceiling");
  rd_kafka_consumer_close(c.get());
}

RunResult RunKafka(const std::string& data, const std::string& bootstrap, int rate, double seconds,
                   const std::string& id) {
  const size_t total = static_cast<size_t>(rate * seconds), warmup = static_cast<size_t>(rate);
  const std::string in = "vis_in_" + id, out = "vis_out_" + id, name = "vis_kafka_" + id;
  CreateTopic(bootstrap, in);
  CreateTopic(bootstrap, out);
  auto pipeline = LoadPipelineToml(data, NamedKafkaSource(name, bootstrap, in) +
                                             "[sink]\ntype = \"kafka\"\nbootstrap = \"" +
                                             bootstrap + "\"\ntopic = \"" + out + "\"\n");
  Running running(pipeline.get(), data);
  Tracker seen(total, warmup, false), ceiling_seen(total, warmup, false);
  const Clock::time_point guard =
      Clock::now() + std::chrono::seconds(static_cast<int64_t>(seconds) + 60);
  std::thread reader([&] {
    kafka::Handle c = Reader(bootstrap, out, /*committed=*/true);
    PollUntilDone(
        &seen,
        [&] {
          return PollKafka(c.get(), [&](std::string_view v) {
            seen.See(JsonInt(v, "id"), JsonInt(v, "ts"), NowNs());
          });
        },
        guard, "kafka pipeline");
    // Nothing more may arrive: a duplicate after the last record would be missed otherwise.
    const auto until = Clock::now() + std::chrono::seconds(1);
    while (Clock::now() < until) {
      PollKafka(c.get(),
                [&](std::string_view v) { seen.See(JsonInt(v, "id"), JsonInt(v, "ts"), NowNs()); });
    }
    if (seen.duplicates() != 0) Die("kafka pipeline: duplicates");
    rd_kafka_consumer_close(c.get());
  });
  std::thread ceiling([&] { ReadInputPlain(bootstrap, in, &ceiling_seen, guard); });
  // The readers and the pipeline find the new topics' leaders and offsets before the first
  // record is offered.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ProduceStamped(bootstrap, in, total, rate);
  reader.join();
  ceiling.join();
  RunResult r;
  r.batches = running.Stop();
  r.pipeline = Summarize(seen.ms());
  r.ceiling = Summarize(ceiling_seen.ms());
  r.history = HistoryView(data, name, &r.phases);
  return r;
}

// ---- PostgreSQL ----

// One SELECT per poll (its own snapshot) of the ids from the first unseen one.
size_t PollPg(PGconn* c, const std::string& table, Tracker* t) {
  const size_t before = t->count();
  const std::string sql =
      "SELECT id, ts FROM " + table + " WHERE id >= " + std::to_string(t->min_unseen());
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) Die(sql + ": " + PQerrorMessage(c));
  const int64_t now = NowNs();
  for (int i = 0; i < PQntuples(r); ++i) {
    t->See(std::strtoll(PQgetvalue(r, i, 0), nullptr, 10),
           std::strtoll(PQgetvalue(r, i, 1), nullptr, 10), now);
  }
  PQclear(r);
  return t->count() - before;
}

RunResult RunPg(const std::string& data, const std::string& bootstrap, const std::string& conninfo,
                int rate, double seconds, const std::string& id) {
  const size_t total = static_cast<size_t>(rate * seconds), warmup = static_cast<size_t>(rate);
  const std::string in = "vis_pg_" + id, name = "vis_pg_" + id, table = "vis_pg_" + id,
                    ceiling_table = "vis_pg_ceiling_" + id;
  CreateTopic(bootstrap, in);
  PGconn* admin = Connect(conninfo);
  Sql(admin, "CREATE TABLE " + table + " " + kColumns);
  Sql(admin, "CREATE TABLE " + ceiling_table + " " + kColumns);
  auto pipeline = LoadPipelineToml(
      data, NamedKafkaSource(name, bootstrap, in) + "[sink]\ntype = \"postgres\"\nconninfo = \"" +
                conninfo + "\"\nmode = \"append\"\ntable = \"" + table + "\"\n");
  Running running(pipeline.get(), data);
  Tracker seen(total, warmup, true), ceiling_seen(total, warmup, true),
      ceiling_in(total, warmup, false);
  const Clock::time_point guard =
      Clock::now() + std::chrono::seconds(static_cast<int64_t>(seconds) + 60);
  std::thread reader([&] {
    PGconn* c = Connect(conninfo);
    PollUntilDone(
        &seen, [&] { return PollPg(c, table, &seen); }, guard, "pg pipeline");
    PQfinish(c);
  });
  std::thread ceiling_reader([&] {
    PGconn* c = Connect(conninfo);
    PollUntilDone(
        &ceiling_seen, [&] { return PollPg(c, ceiling_table, &ceiling_seen); }, guard,
        "pg ceiling");
    PQfinish(c);
  });
  // The plain consumer: what each poll returns goes into one INSERT (autocommit).
  std::thread ceiling_writer([&] {
    PGconn* pg = Connect(conninfo);
    kafka::Handle c = Reader(bootstrap, in, /*committed=*/false);
    PollUntilDone(
        &ceiling_in,
        [&] {
          std::string values;
          const size_t n = PollKafka(c.get(), [&](std::string_view v) {
            const int64_t i = JsonInt(v, "id");
            ceiling_in.See(i, JsonInt(v, "ts"), NowNs());
            values += (values.empty() ? "(" : ",(") + std::to_string(i) + "," +
                      std::to_string(JsonInt(v, "account")) + "," +
                      std::to_string(JsonInt(v, "amount")) + "," +
                      std::to_string(JsonInt(v, "ts")) + ")";
          });
          if (n > 0) Sql(pg, "INSERT INTO " + ceiling_table + " VALUES " + values);
          return n;
        },
        guard, "pg ceiling consumer");
    rd_kafka_consumer_close(c.get());
    PQfinish(pg);
  });
  std::this_thread::sleep_for(std::chrono::seconds(3));  // as in RunKafka
  ProduceStamped(bootstrap, in, total, rate);
  reader.join();
  ceiling_writer.join();
  ceiling_reader.join();
  RunResult r;
  r.batches = running.Stop();
  if (SqlInt(admin, "SELECT COUNT(*) FROM " + table) != static_cast<int64_t>(total)) {
    Die("pg pipeline: wrong row count");
  }
  Sql(admin, "DROP TABLE " + table);
  Sql(admin, "DROP TABLE " + ceiling_table);
  PQfinish(admin);
  r.pipeline = Summarize(seen.ms());
  r.ceiling = Summarize(ceiling_seen.ms());
  r.history = HistoryView(data, name, &r.phases);
  return r;
}

// ---- idle cost ----

// The first three fields of /proc/loadavg: how busy the shared machine was.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");  // a /proc file reports size 0: read it as a stream
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "?";
  return one + " " + five + " " + fifteen;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds per second of a running pipeline that has nothing to read.
double IdleCpu(onceflow::Pipeline* p, const std::string& data) {
  Running running(p, data);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(10));
  const double share = (CpuSeconds() - cpu0) / onceflow::bench::Seconds(Clock::now() - t0);
  running.Stop();
  return share;
}

void PrintRun(const char* what, int rep, const RunResult& r) {
  std::printf("%s run %d: exactly-once p50 %.2f p99 %.2f max %.1f ms (%lld batches; history "
              "~p50 %.0f ~p99 %.0f max %.0f ms) | ceiling p50 %.2f p99 %.2f max %.1f ms\n",
              what, rep, r.pipeline.p50, r.pipeline.p99, r.pipeline.max,
              static_cast<long long>(r.batches), r.history.p50, r.history.p99, r.history.max,
              r.ceiling.p50, r.ceiling.p99, r.ceiling.max);
  std::printf("  batch phases, medians: planning %.2f intent %.2f compute %.2f sink commit %.2f "
              "commit record %.2f ms\n",
              r.phases.planning, r.phases.intent, r.phases.compute, r.phases.sink,
              r.phases.commit_record);
  std::fflush(stdout);
}

void PrintMedians(const char* what, const std::vector<RunResult>& runs) {
  auto med = [&](auto field) {
    std::vector<double> v;
    for (const RunResult& r : runs) v.push_back(field(r));
    return Median(v);
  };
  const double p99 = med([](const RunResult& r) { return r.pipeline.p99; });
  const double ceiling_p99 = med([](const RunResult& r) { return r.ceiling.p99; });
  std::printf("%s median of %zu: exactly-once p50 %.2f p99 %.2f max %.1f ms | ceiling p50 %.2f "
              "p99 %.2f max %.1f ms | p99 ratio %.2f | target p99 <= 10 ms: %s\n",
              what, runs.size(), med([](const RunResult& r) { return r.pipeline.p50; }), p99,
              med([](const RunResult& r) { return r.pipeline.max; }),
              med([](const RunResult& r) { return r.ceiling.p50; }), ceiling_p99,
              med([](const RunResult& r) { return r.ceiling.max; }),
              ceiling_p99 > 0 ? p99 / ceiling_p99 : 0, p99 <= 10 ? "met" : "missed");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "build-release/benchdata/visibility";
  std::string bootstrap =
      std::getenv("ONCEFLOW_TEST_KAFKA") ? std::getenv("ONCEFLOW_TEST_KAFKA") : "";
  std::string conninfo =
      std::getenv("ONCEFLOW_TEST_POSTGRES") ? std::getenv("ONCEFLOW_TEST_POSTGRES") : "";
  int rate = 10000, reps = 3;
  double seconds = 20;
  std::string only = "sqlite,kafka,pg,idle";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--dir") {
      dir = value();
    } else if (a == "--bootstrap") {
      bootstrap = value();
    } else if (a == "--conninfo") {
      conninfo = value();
    } else if (a == "--rate") {
      rate = std::atoi(value().c_str());
    } else if (a == "--seconds") {
      seconds = std::atof(value().c_str());
    } else if (a == "--reps") {
      reps = std::atoi(value().c_str());
    } else if (a == "--only") {
      only = value();
    } else {
      std::fprintf(stderr,
                   "usage: visibility_bench [--dir DIR] [--bootstrap HOST:PORT] [--conninfo C] "
                   "[--rate N] [--seconds S] [--reps R] [--only sqlite,kafka,pg,idle]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (rate < 1000 || seconds < 2 || reps < 1) Die("--rate >= 1000, --seconds >= 2, --reps >= 1");
  auto part = [&](const std::string& p) {
    return ("," + only + ",").find("," + p + ",") != std::string::npos;
  };
  const bool needs_kafka = part("kafka") || part("pg") || part("idle");
  if (needs_kafka && bootstrap.empty()) Die("--bootstrap or $ONCEFLOW_TEST_KAFKA is required");
  if (part("pg") && conninfo.empty()) Die("--conninfo or $ONCEFLOW_TEST_POSTGRES is required");
  const std::string run_id = std::to_string(WallMs());
  std::printf("visibility at %d records/s, %.0f s per run, %d runs, default pipeline settings; "
              "load average %s\n",
              rate, seconds, reps, LoadAverage().c_str());
  std::vector<RunResult> sqlite_runs, kafka_runs, pg_runs;
  for (int rep = 0; rep < reps; ++rep) {
    const std::string id = run_id + "_" + std::to_string(rep);
    auto fresh = [&](const std::string& what) {
      const std::string data = onceflow::JoinPath(dir, what + "_" + id);
      (void)onceflow::RemoveAll(data);
      Check(onceflow::CreateDirs(data), "mkdir " + data);
      return data;
    };
    if (part("sqlite")) {
      const std::string data = fresh("sqlite");
      sqlite_runs.push_back(RunSqlite(data, rate, seconds, id));
      PrintRun("log -> SQLite", rep, sqlite_runs.back());
      (void)onceflow::RemoveAll(data);
    }
    if (part("kafka")) {
      const std::string data = fresh("kafka");
      kafka_runs.push_back(RunKafka(data, bootstrap, rate, seconds, id));
      PrintRun("Kafka -> Kafka", rep, kafka_runs.back());
      (void)onceflow::RemoveAll(data);
    }
    if (part("pg")) {
      const std::string data = fresh("pg");
      pg_runs.push_back(RunPg(data, bootstrap, conninfo, rate, seconds, id));
      PrintRun("Kafka -> PostgreSQL", rep, pg_runs.back());
      (void)onceflow::RemoveAll(data);
    }
  }
  if (!sqlite_runs.empty()) PrintMedians("log -> SQLite", sqlite_runs);
  if (!kafka_runs.empty()) PrintMedians("Kafka -> Kafka", kafka_runs);
  if (!pg_runs.empty()) PrintMedians("Kafka -> PostgreSQL", pg_runs);
  if (part("idle")) {
    const std::string data = onceflow::JoinPath(dir, "idle_" + run_id);
    Check(onceflow::CreateDirs(data), "mkdir " + data);
    onceflow::log::TopicConfig config;
    config.partitions = kPartitions;
    if (auto t = onceflow::log::Topic::Create(data, "idle", config); !t.has_value()) {
      Check(t.error(), "create topic");
    }
    auto log_pipeline =
        onceflow::PipelineBuilder("idle_log")
            .FromLog({.topic = "idle"})
            .ToSqlite({.path = data + "/idle.db",
                       .init = {std::string("CREATE TABLE IF NOT EXISTS e ") + kColumns},
                       .mode = onceflow::SinkMode::kAppend,
                       .table = "e"})
            .Build();
    if (!log_pipeline.has_value()) Check(log_pipeline.error(), "build");
    const double log_cpu = IdleCpu(log_pipeline->get(), data);
    const std::string in = "vis_idle_" + run_id, out = "vis_idle_out_" + run_id;
    CreateTopic(bootstrap, in);
    CreateTopic(bootstrap, out);
    auto kafka_pipeline = LoadPipelineToml(data, NamedKafkaSource("idle_kafka", bootstrap, in) +
                                                     "[sink]\ntype = \"kafka\"\nbootstrap = \"" +
                                                     bootstrap + "\"\ntopic = \"" + out + "\"\n");
    const double kafka_cpu = IdleCpu(kafka_pipeline.get(), data);
    std::printf("idle: CPU share of one core while a running pipeline waits for data: log source "
                "%.2f %%, Kafka source %.2f %% (process user + system time over 10 s)\n",
                log_cpu * 100, kafka_cpu * 100);
    (void)onceflow::RemoveAll(data);
  }
  std::printf("load average at the end: %s\n", LoadAverage().c_str());
  return 0;
}
