// state_bench: count-by-key exactly once with the state on disk (RocksDB), against the ceiling
// of an in-memory hash-map count over the same records, in the same run; peak RSS; recovery
// time after kill -9.
//
//   state_bench [--dir DIR] [--records N] [--keys K] [--reps R] [--per-partition P]
//               [--sink sqlite|none]
//
// N JSON records {"user":"u<k>","amount":a} (K distinct users, uniformly spread) in a
// 4-partition topic. The pipeline: aggregate key = [user], n = count, sum = sum(amount), state
// in RocksDB, committed after the sink each batch; sink `sqlite` upserts the changed keys' rows
// into SQLite (exactly once), sink `none` hands them to a no-op foreach_batch (the state path
// alone). Each pipeline run is a child process (its peak RSS from wait4). The ceiling, in this
// process: read the same records from the log, take the user out of the JSON (a string
// search), count in a std::unordered_map — single-threaded, no durability. Recovery: a child
// runs the pipeline and is SIGKILLed half-way through the records; the time from opening the
// pipeline again to its first committed batch (which includes re-running the unfinished batch
// from the state marker) is measured, and the records it re-read. Two crashes: SIGKILL once
// half the records are committed (the kill lands between batches or early in the next), and
// the worst case, a crash (exit_group, as abrupt as kill -9) between the sink commit and the
// state commit of the middle batch, which recovery re-runs from the state before it.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench_stats.h"
#include "log/topic.h"
#include "onceflow/pipeline.h"
#include "source/log_source.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace {

using onceflow::bench::Median;
using onceflow::bench::Seconds;

using Clock = std::chrono::steady_clock;

void Die(const std::string& what, const onceflow::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

struct Options {
  std::string dir = "/tmp/onceflow-state-bench";
  int64_t records = 2'000'000;
  int64_t keys = 200'000;
  int reps = 3;
  int64_t per_partition = 250'000;
  std::string sink = "sqlite";
  bool throughput_only = false;  // --only throughput: skip the two recovery measurements
};

// Record i's user: i times a large prime, mod K, so that every user occurs (records i < K are
// a permutation of the users) and each user's records are spread over the stream.
int64_t UserOf(int64_t i, int64_t keys) {
  return static_cast<int64_t>((static_cast<uint64_t>(i) * 2654435761ULL) %
                              static_cast<uint64_t>(keys));
}

void Produce(const std::string& data, const Options& o) {
  onceflow::log::TopicConfig config;
  config.partitions = 4;
  config.log.segment_bytes = 64 << 20;
  auto topic = onceflow::log::Topic::Create(data, "purchases", config);
  if (!topic.has_value()) Die("create topic", topic.error());
  std::vector<onceflow::log::BatchBuilder> builders(4);
  std::string key, value;
  for (int64_t i = 0; i < o.records; ++i) {
    key = "u" + std::to_string(UserOf(i, o.keys));
    value = "{\"user\":\"" + key + "\",\"amount\":" + std::to_string(i % 100 + 1) + "}";
    const onceflow::PartitionId p = (*topic)->PartitionForKey(key);
    builders[p.value()].Add(onceflow::RecordView{key, value, i, {}});
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

onceflow::Result<std::unique_ptr<onceflow::Pipeline>> Build(const std::string& data,
                                                            const Options& o) {
  onceflow::PipelineBuilder b("count-by-key");
  b.FromLog({.topic = "purchases"})
      .Aggregate({"user"}, {{"n", "count"}, {"total", "sum(amount)"}})
      .BatchInterval(std::chrono::milliseconds(1))
      .MaxRecordsPerPartition(o.per_partition)
      .AdaptiveBatchSize(false)
      .Speculation(false);
  if (o.sink == "sqlite") {
    b.ToSqlite({.path = data + "/counts.db",
                .init = {"CREATE TABLE IF NOT EXISTS counts(user TEXT PRIMARY KEY, n INTEGER, "
                         "total INTEGER)"},
                .mode = onceflow::SinkMode::kUpsert,
                .table = "counts",
                .key = {"user"}});
  } else {
    b.ForeachBatch([](const onceflow::BatchContext&, std::span<const onceflow::Row>) {
      return onceflow::Status::Ok();
    });
  }
  return b.Build();
}

// What a child pipeline run reports through its pipe.
struct ChildReport {
  double seconds = 0;  // Run until caught up, or to the first commit (recovery)
  int64_t records_in = 0;
  int64_t records_reprocessed = 0;
  int64_t batches = 0;
};

// A child's CPU time (user + system), seconds.
double CpuSeconds(const struct rusage& u) {
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Runs the pipeline in a child. first_commit_only: stop at the first committed batch and report
// the time to it. kill_after_records > 0: the parent SIGKILLs the child once that many records
// are committed (the child reports progress after each batch). Returns the report and the
// child's peak RSS (KiB); *cpu_seconds (if given): the child's CPU time, a figure that the
// other load of a shared machine disturbs less than the wall time.
std::pair<ChildReport, long> RunChild(const std::string& data, const Options& o,
                                      bool first_commit_only, int64_t kill_after_records,
                                      const std::string& faults_spec = "",
                                      double* cpu_seconds = nullptr) {
  int fds[2];
  if (::pipe(fds) != 0) std::exit(1);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (!faults_spec.empty() && !onceflow::faults::Arm(faults_spec).ok()) std::_Exit(3);
    const auto t0 = Clock::now();
    auto p = Build(data, o);
    if (!p.has_value()) Die("build", p.error());
    onceflow::RunOptions ro;
    ro.data_dir = data;
    ro.until_caught_up = true;
    ro.on_log = [](const std::string&) {};
    ChildReport report;
    ro.on_batch_committed = [&](const onceflow::BatchContext&, const onceflow::PipelineStats& s) {
      report.records_in = s.records_in;
      report.records_reprocessed = s.records_reprocessed;
      report.batches = s.batches_committed;
      report.seconds = Seconds(Clock::now() - t0);
      if (kill_after_records > 0 || first_commit_only) {
        if (::write(fds[1], &report, sizeof(report)) != sizeof(report)) std::_Exit(1);
      }
      if (first_commit_only) std::_Exit(0);  // measured: no need to finish
    };
    onceflow::Status s = (*p)->Run(ro);
    if (!s.ok()) Die("run", s);
    report.seconds = Seconds(Clock::now() - t0);
    if (::write(fds[1], &report, sizeof(report)) != sizeof(report)) std::_Exit(1);
    std::_Exit(0);
  }
  ::close(fds[1]);
  ChildReport report, last;
  while (::read(fds[0], &last, sizeof(last)) == sizeof(last)) {
    report = last;
    if (kill_after_records > 0 && last.records_in >= kill_after_records) {
      ::kill(pid, SIGKILL);
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  if (cpu_seconds != nullptr) *cpu_seconds = CpuSeconds(usage);
  return {report, usage.ru_maxrss};
}

// The ceiling: the same records, read from the log, counted in a hash map. Returns seconds.
double HashMapCount(const std::string& data, int64_t expected_records, size_t* distinct) {
  const auto t0 = Clock::now();
  auto source = onceflow::source::LogSource::Open(data, "purchases");
  if (!source.has_value()) Die("open source", source.error());
  auto end = (*source)->EndOffsets();
  if (!end.has_value()) Die("end offsets", end.error());
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> counts;
  int64_t n = 0;
  for (size_t p = 0; p < end->size(); ++p) {
    onceflow::Status s =
        (*source)->Read(onceflow::PartitionId(static_cast<int32_t>(p)), onceflow::Offset(0),
                        (*end)[p], [&](onceflow::Offset, const onceflow::RecordView& r) {
                          // {"user":"u123","amount":45}
                          const std::string_view v = r.value;
                          const size_t u = v.find("\"user\":\"") + 8;
                          const size_t u_end = v.find('"', u);
                          const size_t a = v.find("\"amount\":", u_end) + 9;
                          auto& c = counts[std::string(v.substr(u, u_end - u))];
                          ++c.first;
                          c.second += std::strtoll(v.data() + a, nullptr, 10);
                          ++n;
                          return onceflow::Status::Ok();
                        });
    if (!s.ok()) Die("read", s);
  }
  if (n != expected_records) {
    std::fprintf(stderr, "ceiling read %lld records\n", static_cast<long long>(n));
    std::exit(1);
  }
  *distinct = counts.size();
  return Seconds(Clock::now() - t0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir")
      o.dir = next();
    else if (a == "--records")
      o.records = std::stoll(next());
    else if (a == "--keys")
      o.keys = std::stoll(next());
    else if (a == "--reps")
      o.reps = std::stoi(next());
    else if (a == "--per-partition")
      o.per_partition = std::stoll(next());
    else if (a == "--sink")
      o.sink = next();
    else if (a == "--only" && next() == "throughput")
      o.throughput_only = true;
    else {
      std::fprintf(stderr, "usage: state_bench [--dir DIR] [--records N] [--keys K] [--reps R] "
                           "[--per-partition P] [--sink sqlite|none] [--only throughput]\n");
      return 2;
    }
  }
  (void)onceflow::RemoveAll(o.dir);
  const std::string input = o.dir + "/input";
  if (!onceflow::CreateDirs(input).ok()) return 1;
  std::printf("state_bench: %lld records, %lld keys, 4 partitions, %lld records per partition "
              "per batch, sink %s, %d reps, %u cores\n",
              static_cast<long long>(o.records), static_cast<long long>(o.keys),
              static_cast<long long>(o.per_partition), o.sink.c_str(), o.reps,
              std::thread::hardware_concurrency());
  Produce(input, o);
  std::vector<double> pipeline_rate, ceiling_rate, ratio, rss_mb, recovery_ms, cpu_s;
  std::vector<double> reprocessed, torn_ms, torn_records;
  for (int rep = 0; rep < o.reps; ++rep) {
    // Each rep: a fresh copy of the input (the pipeline's checkpoint and state start empty).
    const std::string data = o.dir + "/rep" + std::to_string(rep);
    (void)onceflow::RemoveAll(data);
    if (std::system(("cp -r " + input + " " + data).c_str()) != 0) return 1;
    size_t distinct = 0;
    const double ceiling = HashMapCount(data, o.records, &distinct);
    double cpu = 0;
    auto [report, rss] = RunChild(data, o, false, 0, "", &cpu);
    if (report.records_in != o.records) {
      std::fprintf(stderr, "pipeline read %lld records\n",
                   static_cast<long long>(report.records_in));
      return 1;
    }
    const double p_rate = static_cast<double>(o.records) / report.seconds;
    const double c_rate = static_cast<double>(o.records) / ceiling;
    ChildReport recovered, rerun;
    if (!o.throughput_only) {
      // Recovery: a fresh copy, killed half-way, then reopened.
      const std::string crash = o.dir + "/crash" + std::to_string(rep);
      (void)onceflow::RemoveAll(crash);
      if (std::system(("cp -r " + input + " " + crash).c_str()) != 0) return 1;
      RunChild(crash, o, false, o.records / 2);
      recovered = RunChild(crash, o, true, 0).first;
      (void)onceflow::RemoveAll(crash);
      // The worst case: a crash between the sink and the state commits of the middle batch.
      const std::string torn = o.dir + "/torn" + std::to_string(rep);
      (void)onceflow::RemoveAll(torn);
      if (std::system(("cp -r " + input + " " + torn).c_str()) != 0) return 1;
      const int64_t middle = std::max<int64_t>(1, report.batches / 2);
      RunChild(torn, o, false, 0, "after_sink_commit=crash#" + std::to_string(middle));
      rerun = RunChild(torn, o, true, 0).first;
      (void)onceflow::RemoveAll(torn);
      torn_ms.push_back(rerun.seconds * 1000);
      torn_records.push_back(static_cast<double>(rerun.records_reprocessed));
      recovery_ms.push_back(recovered.seconds * 1000);
      reprocessed.push_back(static_cast<double>(recovered.records_reprocessed));
    }
    std::printf(
        "rep %d: pipeline %.2f s (%.0f records/s, CPU %.2f s, %lld batches, peak RSS %.0f MB); "
        "hash map %.2f s (%.0f records/s, %zu keys); ratio %.2f",
        rep, report.seconds, p_rate, cpu, static_cast<long long>(report.batches),
        static_cast<double>(rss) / 1024, ceiling, c_rate, distinct, p_rate / c_rate);
    if (!o.throughput_only) {
      std::printf("; recovery to first commit after SIGKILL %.0f ms (%lld records re-read), after "
                  "a crash between sink and state commit %.0f ms (%lld records re-read)",
                  recovered.seconds * 1000, static_cast<long long>(recovered.records_reprocessed),
                  rerun.seconds * 1000, static_cast<long long>(rerun.records_reprocessed));
    }
    std::printf("\n");
    std::fflush(stdout);
    pipeline_rate.push_back(p_rate);
    cpu_s.push_back(cpu);
    ceiling_rate.push_back(c_rate);
    ratio.push_back(p_rate / c_rate);
    rss_mb.push_back(static_cast<double>(rss) / 1024);
    (void)onceflow::RemoveAll(data);
  }
  std::printf(
      "median: pipeline %.0f records/s (CPU %.2f s), hash-map ceiling %.0f records/s, ratio %.2f, "
      "peak RSS %.0f MB",
      Median(pipeline_rate), Median(cpu_s), Median(ceiling_rate), Median(ratio), Median(rss_mb));
  if (!o.throughput_only) {
    std::printf(", recovery after SIGKILL %.0f ms (%.0f records re-read), after a crash between "
                "sink and state commit %.0f ms (%.0f records re-read)",
                Median(recovery_ms), Median(reprocessed), Median(torn_ms), Median(torn_records));
  }
  std::printf("\n");
  return 0;
}
