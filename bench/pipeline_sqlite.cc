// pipeline_sqlite_bench: the exactly-once pipeline log -> JSON -> SQLite (append), measured
// against the raw ceiling in the same run; end-to-end latency at a fixed offered rate; and the
// time from a restart after kill -9 to the first new commit, with a long batch history.
//
//   pipeline_sqlite_bench [--dir DIR] [--records N] [--reps R] [--history-batches B] [--quick]
//                         [--only throughput|latency|recovery|history-cost|digest-cost]
//
// Throughput: N JSON records {id, user, amount, ts} in a 4-partition topic; the pipeline
// appends them to events(id, user, amount, ts) exactly once, until caught up. The ceiling
// inserts the same rows (already parsed) with one prepared statement in transactions of the
// same size as the pipeline's batches, with the same durability (WAL, synchronous=FULL), no
// engine. Latency: a producer appends 10 records per millisecond (10 k records/s) for a few
// seconds with a 5 ms batch interval; each record's latency is from its append returning
// (durable) to the commit of its batch. Recovery: a child process builds a history of B
// batches, is SIGKILLed mid-run; the time from constructing the pipeline again to the first
// new commit is measured. History cost (--only history-cost): the throughput run with the batch
// history on and off, alternating, with big batches and with batches of 500 per partition.
// Digest cost (--only digest-cost): the same with the output digest on (on_replay_mismatch =
// "warn", the default) and off ("off"), and the digest's own work timed alone.
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "history/history_writer.h"
#include "history/visibility_sketch.h"
#include "log/topic.h"
#include "onceflow/pipeline.h"
#include "sink/output_digest.h"
#include "util/file.h"

namespace {

using onceflow::bench::Median;
using onceflow::bench::Percentile;
using onceflow::bench::Seconds;

using Clock = std::chrono::steady_clock;

void Die(const std::string& what, const onceflow::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

struct Event {
  int64_t id, user, amount, ts;
};

Event MakeEvent(int64_t i) { return {i, (i * 7919) % 100000, i % 1000 + 1, 1700000000000 + i}; }

std::string EventJson(const Event& e) {
  return "{\"id\":" + std::to_string(e.id) + ",\"user\":" + std::to_string(e.user) +
         ",\"amount\":" + std::to_string(e.amount) + ",\"ts\":" + std::to_string(e.ts) + "}";
}

// Fills a 4-partition topic with n events, keyed by user.
void Produce(const std::string& data, int64_t n) {
  onceflow::log::TopicConfig config;
  config.partitions = 4;
  auto topic = onceflow::log::Topic::Create(data, "events", config);
  if (!topic.has_value()) Die("create topic", topic.error());
  std::vector<onceflow::log::BatchBuilder> builders(4);
  std::string key, value;
  for (int64_t i = 0; i < n; ++i) {
    const Event e = MakeEvent(i);
    key = std::to_string(e.user);
    value = EventJson(e);
    const onceflow::PartitionId p = (*topic)->PartitionForKey(key);
    builders[p.value()].Add(onceflow::RecordView{key, value, e.ts, {}});
    if (builders[p.value()].size_bytes() > (1 << 20)) {
      auto r = (*(*topic)->partition(p))->Append(builders[p.value()].Finish());
      if (!r.has_value()) Die("append", r.error());
    }
  }
  for (int p = 0; p < 4; ++p) {
    if (builders[p].empty()) continue;
    auto r = (*(*topic)->partition(onceflow::PartitionId(p)))->Append(builders[p].Finish());
    if (!r.has_value()) Die("append", r.error());
  }
}

const char* kCreateEvents =
    "CREATE TABLE IF NOT EXISTS events(id INTEGER, user INTEGER, amount INTEGER, ts INTEGER)";

// CPU time (user + system) of the process so far.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
// The CPU seconds of the last PipelineRun: less sensitive than wall time to other processes on
// the machine (the history cost is measured in both).
double last_run_cpu = 0;

// The pipeline under test: append mode, exactly once; `name` names its checkpoint and database
// (pipelines of other names read the same topic afresh), `history` turns its batch history on.
double PipelineRun(const std::string& data, int64_t n, int64_t per_partition,
                   const std::string& name = "bench", bool history = true,
                   onceflow::ReplayMismatch on_mismatch = onceflow::ReplayMismatch::kWarn) {
  auto pipeline = onceflow::PipelineBuilder(name)
                      .FromLog({.topic = "events"})
                      .ToSqlite({.path = data + "/" + name + ".db",
                                 .init = {kCreateEvents},
                                 .mode = onceflow::SinkMode::kAppend,
                                 .table = "events"})
                      .BatchInterval(std::chrono::milliseconds(1))
                      .MaxRecordsPerPartition(per_partition)
                      .History(history)
                      .OnReplayMismatch(on_mismatch)
                      .AdaptiveBatchSize(false)  // the size the ceiling is measured with
                      .Build();
  if (!pipeline.has_value()) Die("build", pipeline.error());
  onceflow::RunOptions o;
  o.data_dir = data;
  o.until_caught_up = true;
  const auto t0 = Clock::now();
  const double cpu0 = CpuSeconds();
  onceflow::Status s = (*pipeline)->Run(o);
  const double secs = Seconds(Clock::now() - t0);
  last_run_cpu = CpuSeconds() - cpu0;
  if (!s.ok()) Die("run", s);
  if ((*pipeline)->stats().records_in != n) {
    std::fprintf(stderr, "pipeline read %lld records, expected %lld\n",
                 static_cast<long long>((*pipeline)->stats().records_in),
                 static_cast<long long>(n));
    std::exit(1);
  }
  return static_cast<double>(n) / secs;
}

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite: %s: %s\n", sql, err);
    std::exit(1);
  }
}

// The ceiling: the same rows, parsed already, by one prepared statement in big transactions.
double RawSqlite(const std::string& path, int64_t n, int64_t txn_rows) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  Exec(db, "PRAGMA journal_mode=WAL");
  Exec(db, "PRAGMA synchronous=FULL");
  Exec(db, kCreateEvents);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO events(id, user, amount, ts) VALUES(?, ?, ?, ?)", -1, &st,
                     nullptr);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n;) {
    Exec(db, "BEGIN");
    for (int64_t k = 0; k < txn_rows && i < n; ++k, ++i) {
      const Event e = MakeEvent(i);
      sqlite3_bind_int64(st, 1, e.id);
      sqlite3_bind_int64(st, 2, e.user);
      sqlite3_bind_int64(st, 3, e.amount);
      sqlite3_bind_int64(st, 4, e.ts);
      sqlite3_step(st);
      sqlite3_reset(st);
    }
    Exec(db, "COMMIT");
  }
  const double secs = Seconds(Clock::now() - t0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return static_cast<double>(n) / secs;
}

// Latency from a record's durable append to the commit of its batch, at `rate` records/s.
std::vector<double> Latencies(const std::string& data, int rate, double seconds) {
  onceflow::log::TopicConfig config;
  config.partitions = 1;
  auto topic = onceflow::log::Topic::Create(data, "live", config);
  if (!topic.has_value()) Die("create topic", topic.error());
  onceflow::log::PartitionLog* log = *(*topic)->partition(onceflow::PartitionId(0));
  const size_t total = static_cast<size_t>(rate * seconds);
  // Append and commit times in ns, per offset. A batch may commit before the producer has
  // taken the time of an append that returned (the pipeline reads what is durable): the
  // latencies are computed once both are known, and such a record counts as 0.
  std::vector<std::atomic<int64_t>> appended(total), committed(total);
  std::atomic<size_t> committed_count{0};

  auto pipeline = onceflow::PipelineBuilder("latency")
                      .FromLog({.topic = "live"})
                      .ToSqlite({.path = data + "/latency.db",
                                 .init = {kCreateEvents},
                                 .mode = onceflow::SinkMode::kAppend,
                                 .table = "events"})
                      .BatchInterval(std::chrono::milliseconds(5))
                      .Build();
  if (!pipeline.has_value()) Die("build", pipeline.error());
  onceflow::RunOptions o;
  o.data_dir = data;
  o.on_batch_committed = [&](const onceflow::BatchContext& ctx, const onceflow::PipelineStats&) {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count();
    size_t n = 0;
    for (const auto& r : ctx.ranges) {
      for (int64_t off = r.from.value(); off < r.until.value(); ++off, ++n) {
        committed[static_cast<size_t>(off)].store(now, std::memory_order_relaxed);
      }
    }
    if (committed_count.fetch_add(n) + n >= total) (*pipeline)->Stop();
  };
  std::thread runner([&] {
    onceflow::Status s = (*pipeline)->Run(o);
    if (!s.ok()) Die("run", s);
  });
  // 10 records per tick of 1 ms: each append is durable (fsync) before its time is taken.
  const int per_tick = std::max(1, rate / 1000);
  auto next = Clock::now();
  for (size_t i = 0; i < total;) {
    onceflow::log::BatchBuilder b;
    std::vector<std::string> values;
    for (int k = 0; k < per_tick && i + k < total; ++k) {
      values.push_back(EventJson(MakeEvent(static_cast<int64_t>(i) + k)));
    }
    for (const auto& v : values) b.Add(onceflow::RecordView{std::nullopt, v, 1, {}});
    auto off = log->Append(b.Finish());
    if (!off.has_value()) Die("append", off.error());
    const auto now = Clock::now();
    for (size_t k = 0; k < values.size(); ++k) {
      appended[static_cast<size_t>(off->value()) + k].store(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count(),
          std::memory_order_release);
    }
    i += values.size();
    next += std::chrono::milliseconds(1);
    std::this_thread::sleep_until(next);
  }
  runner.join();
  std::vector<double> latencies;
  latencies.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    const int64_t d = committed[i].load() - appended[i].load();
    latencies.push_back(static_cast<double>(std::max<int64_t>(d, 0)) / 1e6);
  }
  return latencies;
}

// Time from constructing the pipeline after a kill -9 to its first new commit.
double RecoverySeconds(const std::string& data, int64_t history_batches) {
  onceflow::log::TopicConfig config;
  config.partitions = 1;
  {
    auto topic = onceflow::log::Topic::Create(data, "hist", config);
    if (!topic.has_value()) Die("create topic", topic.error());
    onceflow::log::PartitionLog* log = *(*topic)->partition(onceflow::PartitionId(0));
    onceflow::log::BatchBuilder b;
    const int64_t records = history_batches + 1000;
    std::vector<std::string> values;
    for (int64_t i = 0; i < records; ++i) {
      values.push_back(EventJson(MakeEvent(i)));
      b.Add(onceflow::RecordView{std::nullopt, values.back(), 1, {}});
      if (b.size_bytes() > (1 << 20)) {
        (void)log->Append(b.Finish());
        values.clear();
      }
    }
    if (!b.empty()) (void)log->Append(b.Finish());
  }
  auto make = [&] {
    auto p = onceflow::PipelineBuilder("history")
                 .FromLog({.topic = "hist"})
                 .ToSqlite({.path = data + "/history.db",
                            .init = {kCreateEvents},
                            .mode = onceflow::SinkMode::kAppend,
                            .table = "events"})
                 .BatchInterval(std::chrono::milliseconds(1))
                 .MaxRecordsPerPartition(1)  // one record per batch: a long history, fast
                 .Build();
    if (!p.has_value()) Die("build", p.error());
    return std::move(*p);
  };
  // Build the history in a child, then kill -9 it in the middle of its next batches.
  pid_t pid = ::fork();
  if (pid == 0) {
    auto p = make();
    onceflow::RunOptions o;
    o.data_dir = data;
    o.on_log = [](const std::string&) {};
    (void)p->Run(o);
    ::_exit(0);
  }
  // Wait for the history by watching the sink's progress row.
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    sqlite3* db = nullptr;
    if (sqlite3_open_v2((data + "/history.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
        SQLITE_OK) {
      sqlite3_close(db);
      continue;
    }
    sqlite3_stmt* st = nullptr;
    int64_t last = -1;
    if (sqlite3_prepare_v2(db, "SELECT MAX(last_batch) FROM onceflow_progress", -1, &st, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      last = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (last >= history_batches) break;
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  const auto t0 = Clock::now();
  auto p = make();
  onceflow::RunOptions o;
  o.data_dir = data;
  o.on_log = [](const std::string&) {};
  Clock::time_point first{};
  o.on_batch_committed = [&](const onceflow::BatchContext&, const onceflow::PipelineStats& s) {
    if (first == Clock::time_point{}) first = Clock::now();
    p->Stop();
  };
  onceflow::Status s = p->Run(o);
  if (!s.ok()) Die("recovery run", s);
  return Seconds(first - t0);
}

// The batch history's cost: the same pipeline with history on and off over the same topic, in
// alternating order, `reps` pairs, with batches of `per_partition` records per partition.
void HistoryCost(const std::string& dir, int64_t records, int reps, int64_t per_partition) {
  std::vector<double> on, off, ratios, cpu_ratios;
  for (int r = 0; r < reps; ++r) {
    const std::string data = onceflow::JoinPath(dir, "history-cost-" + std::to_string(r));
    (void)onceflow::RemoveAll(data);
    (void)onceflow::CreateDirs(data);
    Produce(data, records);
    double with = 0, without = 0, cpu_with = 0, cpu_without = 0;
    auto run = [&](bool history) {
      const double rate = PipelineRun(data, records, per_partition,
                                      history ? "with-history" : "without-history", history);
      (history ? with : without) = rate;
      (history ? cpu_with : cpu_without) = last_run_cpu;
    };
    run(r % 2 == 0);
    run(r % 2 != 0);
    on.push_back(with);
    off.push_back(without);
    ratios.push_back(with / without);
    cpu_ratios.push_back(cpu_without / cpu_with);
    std::printf("  history rep %d (%lld per partition per batch): on %.0f rec/s, off %.0f rec/s, "
                "on/off %.3f; CPU on %.2f s, off %.2f s\n",
                r, static_cast<long long>(per_partition), with, without, ratios.back(), cpu_with,
                cpu_without);
    (void)onceflow::RemoveAll(data);
  }
  const double ratio = Median(ratios), cpu_ratio = Median(cpu_ratios);
  std::printf("history cost, batches of %lld per partition (median of %d pairs): on %.0f rec/s, "
              "off %.0f rec/s, on/off %.3f: cost %.1f %% (target <= 2 %%: %s); CPU per record "
              "off/on %.3f: cost %.1f %%\n",
              static_cast<long long>(per_partition), reps, Median(on), Median(off), ratio,
              (1 - ratio) * 100, ratio >= 0.98 ? "PASS" : "MISS", cpu_ratio, (1 - cpu_ratio) * 100);
}

// The output digest's cost: the same pipeline with the digest on (the default) and off
// (on_replay_mismatch = "off") over the same topic, in alternating order, `reps` pairs.
void DigestCost(const std::string& dir, int64_t records, int reps, int64_t per_partition) {
  std::vector<double> on, off, ratios, cpu_ratios;
  for (int r = 0; r < reps; ++r) {
    const std::string data = onceflow::JoinPath(dir, "digest-cost-" + std::to_string(r));
    (void)onceflow::RemoveAll(data);
    (void)onceflow::CreateDirs(data);
    Produce(data, records);
    double with = 0, without = 0, cpu_with = 0, cpu_without = 0;
    auto run = [&](bool digest) {
      const double rate =
          PipelineRun(data, records, per_partition, digest ? "with-digest" : "without-digest", true,
                      digest ? onceflow::ReplayMismatch::kWarn : onceflow::ReplayMismatch::kOff);
      (digest ? with : without) = rate;
      (digest ? cpu_with : cpu_without) = last_run_cpu;
    };
    run(r % 2 == 0);
    run(r % 2 != 0);
    on.push_back(with);
    off.push_back(without);
    ratios.push_back(with / without);
    cpu_ratios.push_back(cpu_without / cpu_with);
    std::printf("  digest rep %d (%lld per partition per batch): on %.0f rec/s, off %.0f rec/s, "
                "on/off %.3f; CPU on %.2f s, off %.2f s\n",
                r, static_cast<long long>(per_partition), with, without, ratios.back(), cpu_with,
                cpu_without);
    (void)onceflow::RemoveAll(data);
  }
  const double ratio = Median(ratios), cpu_ratio = Median(cpu_ratios);
  std::printf("digest cost, batches of %lld per partition (median of %d pairs): on %.0f rec/s, "
              "off %.0f rec/s, on/off %.3f: cost %.1f %% (target <= 2 %%: %s); CPU per record "
              "off/on %.3f: cost %.1f %%\n",
              static_cast<long long>(per_partition), reps, Median(on), Median(off), ratio,
              (1 - ratio) * 100, ratio >= 0.98 ? "PASS" : "MISS", cpu_ratio, (1 - cpu_ratio) * 100);
}

// The digest's own work, timed alone (CPU-bound): the rows of this benchmark's pipeline
// ({id, user, amount, ts}, integers, with partition and offset), hashed a task of 50 k rows
// at a time, as the engine does at each commit; median of 5 passes over 1 M rows.
void DigestMicro() {
  constexpr int64_t kRows = 1000000, kTask = 50000;
  std::vector<onceflow::SinkRow> rows;
  rows.reserve(kRows);
  for (int64_t i = 0; i < kRows; ++i) {
    const Event e = MakeEvent(i);
    rows.push_back(
        {onceflow::Row{{"id", e.id}, {"user", e.user}, {"amount", e.amount}, {"ts", e.ts}},
         onceflow::PartitionId(static_cast<int32_t>(i % 4)), onceflow::Offset(i / 4)});
  }
  // The thread's CPU time: the machine may be shared, and the digest is CPU work only.
  auto thread_cpu = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
  };
  std::vector<double> wall_ns, cpu_ns;
  uint64_t sink = 0;  // keeps the digests alive
  for (int pass = 0; pass < 5; ++pass) {
    const auto t0 = Clock::now();
    const double c0 = thread_cpu();
    for (int64_t at = 0; at < kRows; at += kTask) {
      const auto d = onceflow::sink::DigestOutput(
          std::span<const onceflow::SinkRow>(rows).subspan(at, kTask), {});
      sink ^= d.low;
    }
    cpu_ns.push_back((thread_cpu() - c0) * 1e9 / static_cast<double>(kRows));
    wall_ns.push_back(Seconds(Clock::now() - t0) * 1e9 / static_cast<double>(kRows));
  }
  std::printf("digest micro: %.1f ns CPU (%.1f ns wall) per row (4 integer fields; median of 5 "
              "passes over %lld rows in tasks of %lld; %llx)\n",
              Median(cpu_ns), Median(wall_ns), static_cast<long long>(kRows),
              static_cast<long long>(kTask), static_cast<unsigned long long>(sink & 0xf));
}

// The history's own work, timed alone (CPU-bound, so less disturbed by a loaded machine than
// the pipeline's A/B): a batch record like this benchmark's (4 partitions, 4 task attempts)
// built and appended, per batch; a record timestamp added to the visibility sketch, per record.
void HistoryMicro(const std::string& dir) {
  const std::string cp = onceflow::JoinPath(dir, "history-micro");
  (void)onceflow::RemoveAll(cp);
  (void)onceflow::CreateDirs(cp);
  auto writer = onceflow::history::HistoryWriter::Open(cp, {});
  if (!writer.has_value()) Die("history writer", writer.error());
  onceflow::BatchRecord r;
  r.outcome = "committed";
  for (int p = 0; p < 4; ++p) {
    r.partitions.push_back({.partition = p,
                            .from = 1000000,
                            .until = 1050000,
                            .end_offset = 2000000,
                            .lag_records = 950000,
                            .lag_seconds = -1,
                            .drain_eta_seconds = 12.5});
    r.tasks.push_back({.task = p,
                       .partition = p,
                       .attempt = 1,
                       .outcome = "won",
                       .duration_us = 123456,
                       .error = "",
                       .speculative = false});
  }
  constexpr int kAppends = 20000;
  auto t0 = Clock::now();
  for (int i = 0; i < kAppends; ++i) {
    r.batch_id = i;
    r.end_time_ms = 1700000000000 + i;
    (*writer)->Append(r);
  }
  const double append_us = Seconds(Clock::now() - t0) * 1e6 / kAppends;
  constexpr int64_t kRecords = 50000000;
  onceflow::history::VisibilitySketch sketch(1700000100000);
  t0 = Clock::now();
  for (int64_t i = 0; i < kRecords; ++i) sketch.Add(1700000000000 + (i * 7919) % 100000);
  const double add_ns = Seconds(Clock::now() - t0) * 1e9 / static_cast<double>(kRecords);
  std::printf("history micro: %.1f us per batch record appended (%d, 10,000 kept), %.2f ns per "
              "record timestamp added to the visibility sketch (%lld; p99 %lld ms)\n",
              append_us, kAppends, add_ns, static_cast<long long>(kRecords),
              static_cast<long long>(sketch.LatencyAt(1700000100000).p99_ms));
  (void)onceflow::RemoveAll(cp);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "build-release/benchdata";
  int64_t records = 1000000;
  int reps = 3;
  int64_t history = 100000;
  // "throughput", "latency", "recovery" or "history-cost": run that part alone (history-cost,
  // the batch history on against off, runs only when asked for).
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--dir")
      dir = next();
    else if (a == "--records")
      records = std::atoll(next().c_str());
    else if (a == "--reps")
      reps = std::atoi(next().c_str());
    else if (a == "--history-batches")
      history = std::atoll(next().c_str());
    else if (a == "--only")
      only = next();
    else if (a == "--quick") {
      records = 200000;
      reps = 3;
      history = 5000;
    } else {
      std::printf("usage: %s [--dir DIR] [--records N] [--reps R] [--history-batches B] [--quick]\n"
                  "          [--only throughput|latency|recovery|history-cost|digest-cost]\n",
                  argv[0]);
      return a == "--help" ? 0 : 2;
    }
  }
  const int64_t per_partition = 50000;  // batches of up to 4 x 50k rows
  std::printf("pipeline_sqlite_bench: %lld records, %d reps, history %lld batches, dir %s\n",
              static_cast<long long>(records), reps, static_cast<long long>(history), dir.c_str());
  std::vector<double> engine, ceiling;
  const auto part = [&](const char* name) { return only.empty() || only == name; };
  for (int r = 0; r < reps && part("throughput"); ++r) {
    const std::string data = onceflow::JoinPath(dir, "pipeline-" + std::to_string(r));
    (void)onceflow::RemoveAll(data);
    (void)onceflow::CreateDirs(data);
    Produce(data, records);
    engine.push_back(PipelineRun(data, records, per_partition));
    ceiling.push_back(RawSqlite(data + "/raw.db", records, 4 * per_partition));
    std::printf("  rep %d: pipeline %.0f rec/s, raw sqlite %.0f rec/s\n", r, engine.back(),
                ceiling.back());
    (void)onceflow::RemoveAll(data);
  }
  const double e = Median(engine), c = Median(ceiling);
  if (part("throughput"))
    std::printf("throughput (median of %d): pipeline %.0f records/s, ceiling %.0f records/s, "
                "ratio %.2f (target >= 0.80: %s)\n",
                reps, e, c, e / c, e / c >= 0.8 ? "PASS" : "MISS");

  if (part("latency")) {
    const std::string data = onceflow::JoinPath(dir, "latency");
    (void)onceflow::RemoveAll(data);
    (void)onceflow::CreateDirs(data);
    std::vector<double> lat = Latencies(data, 10000, 5.0);
    const double p50 = Percentile(lat, 0.5), p99 = Percentile(lat, 0.99);
    std::printf("latency at 10k records/s, 5 ms batch interval (%zu records): p50 %.2f ms, "
                "p99 %.2f ms (target p99 <= 10 ms: %s)\n",
                lat.size(), p50, p99, p99 <= 10 ? "PASS" : "MISS");
    (void)onceflow::RemoveAll(data);
  }
  if (only == "digest-cost") {
    DigestMicro();
    DigestCost(dir, records, reps, per_partition);
  }
  if (only == "history-cost") {
    HistoryMicro(dir);
    HistoryCost(dir, records, reps, per_partition);
    HistoryCost(dir, records, reps, 500);  // many small batches: the per-batch cost shows
  }
  if (part("recovery")) {
    std::vector<double> rec;
    for (int r = 0; r < std::min(reps, 3); ++r) {
      const std::string data = onceflow::JoinPath(dir, "recovery");
      (void)onceflow::RemoveAll(data);
      (void)onceflow::CreateDirs(data);
      rec.push_back(RecoverySeconds(data, history));
      std::printf("  recovery rep %d: %.3f s\n", r, rec.back());
      (void)onceflow::RemoveAll(data);
      if (history >= 50000) break;  // building the history takes minutes: once is enough
    }
    std::printf("recovery after kill -9 with %lld batches of history: %.3f s to the first new "
                "commit (target <= 0.5 s: %s)\n",
                static_cast<long long>(history), Median(rec), Median(rec) <= 0.5 ? "PASS" : "MISS");
  }
  return 0;
}
