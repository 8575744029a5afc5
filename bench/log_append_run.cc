// A log run of log_append_bench: producers, the log, and the figures of the run.
#include "log_append_run.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "fatal.h"
#include "io_accounting.h"
#include "log/log_format.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "onceflow/record.h"
#include "util/file.h"

namespace onceflow::bench {
namespace {

using onceflow::log::BatchBuilder;
using onceflow::log::LogOptions;
using onceflow::log::PartitionLog;

struct Done {
  int64_t end_ns;
  uint32_t latency_us;
  uint32_t records;
  uint32_t bytes;
};

struct ThreadStats {
  std::vector<Done> done;
  int64_t build_ns = 0;
  int64_t append_ns = 0;
  std::string error;
};

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

// Encoded bytes that one more record of `value` adds to a batch.
size_t EncodedRecordBytes(const std::string& value) {
  BatchBuilder b;
  RecordView r;
  r.value = value;
  r.timestamp_ms = 1;
  b.Add(r);
  const size_t one = b.size_bytes();
  b.Add(r);
  return b.size_bytes() - one;
}

void Produce(PartitionLog* log, const std::string& value, uint32_t per_append,
             const std::atomic<bool>& stop, std::latch& start, ThreadStats* st) {
  t_producer = true;
  BatchBuilder b;
  RecordView r;
  r.value = value;
  st->done.reserve(1 << 14);
  start.arrive_and_wait();
  while (!stop.load(std::memory_order_relaxed)) {
    const int64_t t0 = NowNs();
    r.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    for (uint32_t i = 0; i < per_append; ++i) b.Add(r);
    std::string batch = b.Finish();
    const auto size = static_cast<uint32_t>(batch.size());
    const int64_t t1 = NowNs();
    auto res = log->Append(std::move(batch));
    const int64_t t2 = NowNs();
    if (!res.has_value()) {
      st->error = res.error().ToString();
      break;
    }
    st->build_ns += t1 - t0;
    st->append_ns += t2 - t1;
    st->done.push_back({t2, static_cast<uint32_t>(std::min<int64_t>((t2 - t1) / 1000, UINT32_MAX)),
                        per_append, size});
  }
  t_producer = false;
}

double Percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

std::string PartitionDir(const std::string& dir, int p) {
  std::string name = "p";
  name += std::to_string(p);
  return onceflow::JoinPath(dir, name);
}

}  // namespace

std::vector<Config> MakeConfigs() {
  std::vector<Config> cs;
  auto add = [&](size_t rb, int th, int parts, bool one, size_t batch, Durability d) {
    std::string name = rb == 100 ? "100B" : "1KiB";
    name += "/t";
    name += std::to_string(th);
    if (parts > 1) {
      name += "/p";
      name += std::to_string(parts);
    }
    name += one ? "/1rec" : batch == 0 ? "/batch" : "/b" + std::to_string(batch >> 20) + "M";
    name += d == Durability::kFsync ? "/fsync" : "/none";
    cs.push_back({name, rb, th, parts, one, batch, d});
  };
  for (size_t rb : {size_t{100}, size_t{1024}}) {
    for (int th : {1, 4, 16}) add(rb, th, 1, false, 0, Durability::kFsync);
    // 16 x 1 MiB waiting: groups are cut at kMaxGroupBytes.
    add(rb, 16, 1, false, 1u << 20, Durability::kFsync);
    add(rb, 16, 1, true, 0, Durability::kFsync);
    add(rb, 16, 4, false, 0, Durability::kFsync);
    add(rb, 16, 1, false, 0, Durability::kNone);
  }
  return cs;
}

LogRun RunLog(const Options& o, const Config& c, const std::string& dir) {
  onceflow::RemoveAll(dir).IgnoreError();  // a leftover of an interrupted run, if any
  LogOptions lo;
  lo.durability = c.durability;
  lo.segment_bytes = o.segment_bytes;
  lo.preallocate = o.preallocate;
  std::vector<std::unique_ptr<PartitionLog>> logs;
  for (int p = 0; p < c.partitions; ++p) {
    auto log = PartitionLog::Open(PartitionDir(dir, p), lo);
    if (!log.has_value()) Die("open log: " + log.error().ToString());
    logs.push_back(std::move(*log));
  }
  std::string value(c.record_bytes, '\0');
  std::mt19937_64 rng(42);
  for (char& ch : value) ch = static_cast<char>('a' + rng() % 26);
  uint32_t per_append = o.records_per_append;
  const size_t batch_bytes = c.batch_bytes != 0 ? c.batch_bytes : o.batch_bytes;
  if (c.one_record) {
    per_append = 1;
  } else if (per_append == 0 || c.batch_bytes != 0) {
    per_append = static_cast<uint32_t>(std::max<size_t>(
        1, (batch_bytes - onceflow::log::kBatchHeaderSize) / EncodedRecordBytes(value)));
  }

  std::vector<ThreadStats> stats(c.threads);
  std::atomic<bool> stop{false};
  std::latch start(c.threads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < c.threads; ++t) {
    threads.emplace_back(Produce, logs[t % c.partitions].get(), std::cref(value), per_append,
                         std::cref(stop), std::ref(start), &stats[t]);
  }
  g_producer_io.Reset();
  g_other_io.Reset();
  g_last_sync_end_ns = 0;
  g_handoff_ns = 0;
  g_handoffs = 0;
  {
    std::lock_guard lock(g_roll_mu);
    g_rolls.clear();
  }
  const double cpu0 = CpuSeconds();
  start.arrive_and_wait();
  const int64_t t0 = NowNs();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  stop = true;
  for (auto& th : threads) th.join();
  const int64_t t1 = NowNs();
  const double cpu1 = CpuSeconds();

  LogRun run;
  run.seconds = (t1 - t0) / 1e9;
  int64_t roll_ns = -1;
  {
    std::lock_guard lock(g_roll_mu);
    // Steady state starts once every partition has rolled once (about: the P-th roll).
    std::vector<int64_t> ends;
    for (const Roll& r : g_rolls) {
      ends.push_back(r.end_ns);
      const double ms = (r.end_ns - r.start_ns) / 1e6;
      run.roll_ms_total += ms;
      run.roll_ms_max = std::max(run.roll_ms_max, ms);
    }
    std::sort(ends.begin(), ends.end());
    if (ends.size() >= static_cast<size_t>(c.partitions)) {
      roll_ns = ends[c.partitions - 1];
      run.first_roll_s = (roll_ns - t0) / 1e9;
    }
  }
  std::vector<uint32_t> lat;
  int64_t build_ns = 0, append_ns = 0;
  uint64_t seg1_bytes = 0, steady_bytes = 0, steady_records = 0;
  for (ThreadStats& s : stats) {
    if (!s.error.empty()) Die("append: " + s.error);
    build_ns += s.build_ns;
    append_ns += s.append_ns;
    for (const Done& d : s.done) {
      run.records += d.records;
      run.bytes += d.bytes;
      ++run.appends;
      lat.push_back(d.latency_us);
      if (roll_ns >= 0 && d.end_ns > roll_ns) {
        steady_bytes += d.bytes;
        steady_records += d.records;
      } else {
        seg1_bytes += d.bytes;
      }
    }
  }
  if (roll_ns >= 0) {
    run.seg1_mb_s = seg1_bytes / ((roll_ns - t0) / 1e9) / 1e6;
    // A window shorter than a fifth of the run is mostly noise: report nothing.
    if (t1 - roll_ns >= (t1 - t0) / 5) {
      run.steady_mb_s = steady_bytes / ((t1 - roll_ns) / 1e9) / 1e6;
      run.steady_rec_s = steady_records / ((t1 - roll_ns) / 1e9);
    }
  } else {
    run.seg1_mb_s = run.mb_per_s();
  }
  for (auto& l : logs) run.rolls += l->segment_count() - 1;
  // Each roll, run by an appender, adds 1 pwritev (index file) and 2 fdatasyncs.
  run.groups = g_producer_io.writes - run.rolls;
  const uint64_t syncs = g_producer_io.fdatasyncs;
  run.sync_us = syncs ? g_producer_io.fdatasync_ns / 1e3 / syncs : 0;
  run.write_us = g_producer_io.writes ? g_producer_io.write_ns / 1e3 / g_producer_io.writes : 0;
  if (c.partitions == 1 && c.durability == Durability::kFsync && g_handoffs > 0) {
    run.handoff_us = g_handoff_ns / 1e3 / g_handoffs;
  }
  run.prealloc_bytes = g_other_io.write_bytes;
  run.p50_us = Percentile(lat, 0.50);
  run.p99_us = Percentile(lat, 0.99);
  run.max_us = Percentile(lat, 1.0);
  run.cpu = (cpu1 - cpu0) / run.seconds / std::thread::hardware_concurrency();
  run.build_share = build_ns + append_ns > 0 ? double(build_ns) / (build_ns + append_ns) : 0;
  logs.clear();  // joins a running preallocation
  return run;
}

}  // namespace onceflow::bench
