// log_append_bench: durable append throughput of the embedded log (PartitionLog group commit)
// against the raw ceiling of the same disk, measured in the same run. See bench/README.md.
//
// How the figures are obtained:
//  - Producer threads build batches with BatchBuilder (about --batch-bytes per append, like a
//    Kafka producer's batch.size) and Append them to one partition (or several) for a fixed time,
//    starting from a fresh log with the library's default options.
//  - fdatasync, fsync, ftruncate and pwritev are interposed in this executable (the log is linked
//    statically, so its calls resolve here). That counts exactly how many group writes and
//    fdatasyncs the log made, how many bytes they carried, how long they took, the hand-off
//    between groups and the time spent rolling segments. Calls from producer threads are the
//    group commits (minus the fixed few of each segment roll); calls from other threads are the
//    background zero-filling of the next segment.
//  - The raw ceiling writes the same kind of bytes sequentially into a preallocated (zero-filled)
//    file: one pwrite of G bytes and one fdatasync per group, where G is the log's observed
//    average group size in that very repetition. The same groups are also written into a growing
//    file (what allocating new blocks costs), and G = kMaxGroupBytes gives the best ceiling.
//  - Every configuration runs --reps times, repetitions interleaved; medians are reported.
//    Targets are printed as PASS/MISS, never asserted.
//  - --diagnose runs only raw write patterns (overwrite, grow, fallocate, each alone and beside a
//    concurrent zero-fill) at several group sizes: the evidence for why the log is where it is.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "log/log_format.h"
#include "log/log_options.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "onceflow/record.h"
#include "util/file.h"

// ---------------------------------------------------------------------------------------------
// I/O accounting by interposition.

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Producer threads set this; everything else (the preallocation thread) is "other".
thread_local bool t_producer = false;
// The ceiling calls the real functions itself; this keeps its calls out of the counters.
thread_local bool t_uncounted = false;

struct IoCounters {
  std::atomic<uint64_t> fdatasyncs{0};
  std::atomic<uint64_t> fdatasync_ns{0};
  std::atomic<uint64_t> fsyncs{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> write_bytes{0};
  std::atomic<uint64_t> write_ns{0};

  void Reset() {
    fdatasyncs = 0;
    fdatasync_ns = 0;
    fsyncs = 0;
    writes = 0;
    write_bytes = 0;
    write_ns = 0;
  }
};
IoCounters g_producer_io;
IoCounters g_other_io;
// Hand-off between groups (meaningful with one partition): from the end of an appender's
// fdatasync to the start of the next group's pwritev.
std::atomic<int64_t> g_last_sync_end_ns{0};
std::atomic<uint64_t> g_handoff_ns{0};
std::atomic<uint64_t> g_handoffs{0};
// Segment rolls, seen from the calls an appender makes while rolling: the first ftruncate
// (Segment::Seal truncating the old segment to its data) starts one, the second directory
// fsync (Segment::Create making the new segment durable) ends it. A roll runs entirely in the
// leading appender's thread, so the state is per thread.
struct Roll {
  int64_t start_ns;
  int64_t end_ns;
};
thread_local int64_t t_roll_start_ns = 0;
thread_local int t_roll_fsyncs = 0;
std::mutex g_roll_mu;
std::vector<Roll> g_rolls;  // guarded by g_roll_mu

IoCounters* Counters() {
  if (t_uncounted) return nullptr;
  return t_producer ? &g_producer_io : &g_other_io;
}

using PwritevFn = ssize_t (*)(int, const struct iovec*, int, off_t);
PwritevFn RealPwritev() {
  static PwritevFn fn = reinterpret_cast<PwritevFn>(dlsym(RTLD_NEXT, "pwritev"));
  return fn;
}

}  // namespace

extern "C" int fdatasync(int fd) {
  IoCounters* c = Counters();
  const int64_t t0 = c ? NowNs() : 0;
  const long r = syscall(SYS_fdatasync, fd);
  if (c) {
    const int64_t t1 = NowNs();
    c->fdatasyncs.fetch_add(1, std::memory_order_relaxed);
    c->fdatasync_ns.fetch_add(static_cast<uint64_t>(t1 - t0), std::memory_order_relaxed);
    // Rolls are excluded: they are counted as stalls.
    if (c == &g_producer_io && t_roll_start_ns == 0) {
      g_last_sync_end_ns.store(t1, std::memory_order_relaxed);
    }
  }
  return static_cast<int>(r);
}

extern "C" int fsync(int fd) {
  const long r = syscall(SYS_fsync, fd);
  if (IoCounters* c = Counters()) {
    c->fsyncs.fetch_add(1, std::memory_order_relaxed);
    // An appender fsyncs only directories, and only while rolling a segment (twice).
    if (c == &g_producer_io && t_roll_start_ns != 0 && ++t_roll_fsyncs == 2) {
      std::lock_guard lock(g_roll_mu);
      g_rolls.push_back({t_roll_start_ns, NowNs()});
      t_roll_start_ns = 0;
      t_roll_fsyncs = 0;
    }
  }
  return static_cast<int>(r);
}

extern "C" int ftruncate(int fd, off_t length) {
  if (t_producer && !t_uncounted && t_roll_start_ns == 0) {
    t_roll_start_ns = NowNs();
    g_last_sync_end_ns.store(0, std::memory_order_relaxed);
  }
  return static_cast<int>(syscall(SYS_ftruncate, fd, length));
}

extern "C" ssize_t pwritev(int fd, const struct iovec* iov, int count, off_t offset) {
  IoCounters* c = Counters();
  const int64_t t0 = c ? NowNs() : 0;
  if (c == &g_producer_io) {
    const int64_t last = g_last_sync_end_ns.exchange(0, std::memory_order_relaxed);
    if (last != 0 && t0 > last) {
      g_handoff_ns.fetch_add(static_cast<uint64_t>(t0 - last), std::memory_order_relaxed);
      g_handoffs.fetch_add(1, std::memory_order_relaxed);
    }
  }
  const ssize_t r = RealPwritev()(fd, iov, count, offset);
  if (c) {
    c->writes.fetch_add(1, std::memory_order_relaxed);
    if (r > 0) c->write_bytes.fetch_add(static_cast<uint64_t>(r), std::memory_order_relaxed);
    c->write_ns.fetch_add(static_cast<uint64_t>(NowNs() - t0), std::memory_order_relaxed);
  }
  return r;
}


namespace {

using onceflow::RecordView;
using onceflow::log::BatchBuilder;
using onceflow::log::Durability;
using onceflow::log::kMaxGroupBytes;
using onceflow::log::LogOptions;
using onceflow::log::PartitionLog;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "log_append_bench: %s\n", what.c_str());
  std::exit(1);
}

void SyncFs(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::syncfs(fd);
  ::close(fd);
}

// Flushes the file system and lets the device settle (deleted files are discarded at the
// journal commit on a `discard` mount), so that one run's leftovers do not slow the next.
int g_settle_ms = 50;
void Settle(const std::string& dir) {
  SyncFs(dir);
  std::this_thread::sleep_for(std::chrono::milliseconds(g_settle_ms));
}

// ---------------------------------------------------------------------------------------------
// Options and configurations.

struct Options {
  std::string dir = "log_append_bench.data";
  double seconds = 1.25;         // per log run
  double ceiling_seconds = 0.5;  // per ceiling run
  int reps = 3;
  size_t batch_bytes = 64 * 1024;
  uint32_t records_per_append = 0;  // 0: as many as fit in batch_bytes
  uint64_t segment_bytes = 64u << 20;
  uint64_t ceiling_file_bytes = 256u << 20;
  std::string only;  // run only configurations whose name contains this
  bool keep = false;
  bool diagnose = false;
  bool preallocate = false;  // LogOptions::preallocate (off by default)
};

struct Config {
  std::string name;
  size_t record_bytes;  // value bytes per record (no key, no headers)
  int threads;
  int partitions;
  bool one_record;      // one record per append instead of a batch
  size_t batch_bytes;   // 0: --batch-bytes
  Durability durability;
};

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

// ---------------------------------------------------------------------------------------------
// Log runs.

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

struct LogRun {
  double seconds = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;  // encoded batch bytes appended: what goes to disk
  uint64_t appends = 0;
  uint64_t groups = 0;       // group writes: pwritev by appenders, less the rolls' own
  double sync_us = 0;        // average fdatasync by an appender (rolls' included)
  double write_us = 0;       // average pwritev by an appender (copy into the page cache)
  double handoff_us = -1;    // average end of a group's fdatasync -> next group's pwritev
  uint64_t rolls = 0;
  uint64_t prealloc_bytes = 0;  // zero-fill written by the background thread
  double first_roll_s = -1;     // when every partition had rolled once; -1 if not
  double roll_ms_total = 0;     // time appenders spent rolling segments (the log is stalled)
  double roll_ms_max = 0;
  double seg1_mb_s = -1;        // throughput before the first roll (a growing file)
  double steady_mb_s = -1;      // throughput after it (preallocated segments); -1 if too short
  double steady_rec_s = -1;
  double p50_us = 0, p99_us = 0, max_us = 0;
  double cpu = 0;          // process CPU seconds / (elapsed * cpus)
  double build_share = 0;  // share of producer time spent building batches

  double records_per_s() const { return records / seconds; }
  double mb_per_s() const { return bytes / seconds / 1e6; }
  double avg_group_bytes() const { return groups ? double(bytes) / groups : 0; }
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
    st->done.push_back(
        {t2, static_cast<uint32_t>(std::min<int64_t>((t2 - t1) / 1000, UINT32_MAX)), per_append,
         size});
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

// Appends for o.seconds from c.threads threads to a fresh log in `dir`; leaves the files.
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

// ---------------------------------------------------------------------------------------------
// The raw ceiling: sequential pwrite + fdatasync into preallocated (zero-filled) files.

struct CeilingFile {
  std::string path;
  int fd = -1;
  uint64_t size = 0;
};

// Zero-fills a new file the way the log preallocates a segment (1 MiB writes, one fdatasync),
// leaving it open in *f unless `close_after`. Returns the seconds it took.
double ZeroFill(CeilingFile* f, bool close_after = false) {
  const bool was = t_uncounted;
  t_uncounted = true;
  const int64_t t0 = NowNs();
  f->fd = ::open(f->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f->fd < 0) Die("open " + f->path + ": " + std::strerror(errno));
  static const std::string zeros(1u << 20, '\0');
  for (uint64_t at = 0; at < f->size; at += zeros.size()) {
    if (::pwrite(f->fd, zeros.data(), zeros.size(), static_cast<off_t>(at)) !=
        static_cast<ssize_t>(zeros.size())) {
      Die("zero-fill " + f->path + ": " + std::strerror(errno));
    }
  }
  if (fdatasync(f->fd) != 0) Die("fdatasync " + f->path);
  if (close_after) {
    ::close(f->fd);
    f->fd = -1;
  }
  t_uncounted = was;
  return (NowNs() - t0) / 1e9;
}

struct RawRun {
  double mb_per_s = 0;
  double write_us = 0;  // average pwrite (copy into the page cache)
  double sync_us = 0;   // average fdatasync
};

// How a raw run treats its file.
enum class RawMode {
  kOverwrite,  // the (zero-filled) file as it is, wrapping around at its end
  kGrow,       // truncated to 0 first: every write extends the file (a segment without
               // preallocation); stops at the file's size
  kFallocate,  // truncated, then fallocate()d to its size: unwritten extents; stops at the end
};

// One thread per file writes `group` bytes of random data then fdatasyncs (if `sync`),
// sequentially, for `seconds`.
RawRun RunRaw(std::vector<CeilingFile>& files, size_t nfiles, uint64_t group, bool sync,
              double seconds, const std::string& data, RawMode mode = RawMode::kOverwrite) {
  group = std::max<uint64_t>(1, std::min<uint64_t>(group, data.size()));
  for (size_t i = 0; i < nfiles && mode != RawMode::kOverwrite; ++i) {
    if (::ftruncate(files[i].fd, 0) != 0) Die("ftruncate");
    if (mode == RawMode::kFallocate &&
        ::fallocate(files[i].fd, 0, 0, static_cast<off_t>(files[i].size)) != 0) {
      Die("fallocate: " + std::string(std::strerror(errno)));
    }
    ::fsync(files[i].fd);
  }
  std::atomic<bool> stop{false};
  std::latch start(nfiles + 1);
  std::vector<uint64_t> bytes(nfiles), writes(nfiles), write_ns(nfiles), syncs(nfiles),
      sync_ns(nfiles);
  std::vector<int64_t> end_ns(nfiles);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < nfiles; ++i) {
    threads.emplace_back([&, i] {
      t_uncounted = true;
      CeilingFile& f = files[i];
      uint64_t pos = 0;
      start.arrive_and_wait();
      while (!stop.load(std::memory_order_relaxed)) {
        if (pos + group > f.size) {
          if (mode != RawMode::kOverwrite) break;  // the run ends early: the rate stays right
          pos = 0;
        }
        const int64_t w0 = NowNs();
        if (::pwrite(f.fd, data.data(), group, static_cast<off_t>(pos)) !=
            static_cast<ssize_t>(group)) {
          Die("raw write: " + std::string(std::strerror(errno)));
        }
        write_ns[i] += NowNs() - w0;
        ++writes[i];
        if (sync) {
          const int64_t s0 = NowNs();
          if (fdatasync(f.fd) != 0) Die("raw fdatasync");
          sync_ns[i] += NowNs() - s0;
          ++syncs[i];
        }
        pos += group;
        bytes[i] += group;
      }
      end_ns[i] = NowNs();
    });
  }
  start.arrive_and_wait();
  const int64_t t0 = NowNs();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  RawRun r;
  uint64_t b = 0, s = 0, ns = 0, w = 0, wns = 0;
  int64_t t1 = 0;
  for (size_t i = 0; i < nfiles; ++i) {
    b += bytes[i];
    w += writes[i];
    wns += write_ns[i];
    s += syncs[i];
    ns += sync_ns[i];
    t1 = std::max(t1, end_ns[i]);
  }
  r.mb_per_s = b / ((t1 - t0) / 1e9) / 1e6;
  r.sync_us = s ? ns / 1e3 / s : 0;
  r.write_us = w ? wns / 1e3 / w : 0;
  if (!sync) {
    // Without fdatasync the page cache took everything; flush it so the next run starts clean.
    for (size_t i = 0; i < nfiles; ++i) fdatasync(files[i].fd);
  }
  for (size_t i = 0; i < nfiles && mode != RawMode::kOverwrite; ++i) {
    // Free the blocks now, outside the timing: the next run's Settle absorbs the discards.
    if (::ftruncate(files[i].fd, 0) != 0) Die("ftruncate");
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Reporting helpers.

double Median(std::vector<double> v) {
  std::erase_if(v, [](double x) { return x < 0; });  // -1: not measured in that repetition
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Human(double v) {
  char buf[32];
  if (v < 0) return "-";
  if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string Fixed(double v, int decimals) {
  if (v < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// "/proc/loadavg" as it reads, newline included. (Its size is 0: read it as a stream.)
std::string LoadAverage() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  char buf[128] = "?\n";
  if (f != nullptr) {
    if (std::fgets(buf, sizeof buf, f) == nullptr) std::snprintf(buf, sizeof buf, "?\n");
    std::fclose(f);
  }
  return buf;
}

std::string FsType(const std::string& dir) {
  struct statfs s {};
  if (statfs(dir.c_str(), &s) != 0) return "?";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0x01021994: return "tmpfs";
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(s.f_type));
      return buf;
    }
  }
}

// A growing file stops there (a raw run rarely gets that far): no truncation inside a run.
constexpr uint64_t kGrowFileBytes = 1u << 30;

// The largest group --diagnose tries: above kMaxGroupBytes, to show what the cap costs.
constexpr uint64_t kDiagnoseMaxGroup = 16u << 20;

// ---------------------------------------------------------------------------------------------
// --diagnose: what the disk does with the write patterns a log can produce.

void Diagnose(const Options& o, std::vector<CeilingFile>& files, const std::string& data) {
  std::printf("DIAGNOSE: raw pwrite + fdatasync per group, one file, %.2f s per cell, median of "
              "%d; MB/s (average fdatasync us)\n",
              o.ceiling_seconds, o.reps);
  std::printf("  overwrite = zero-filled file (what a preallocated segment is)\n"
              "  grow      = file truncated to 0, every write extends it (the first segment, "
              "which is never preallocated)\n"
              "  fallocate = fallocate()d file (unwritten extents)\n"
              "  +zerofill = while another thread zero-fills 64 MiB files back to back (what "
              "the log's preallocation thread does)\n\n");
  CeilingFile scratch{onceflow::JoinPath(o.dir, "diag.raw"), -1, o.ceiling_file_bytes};
  ZeroFill(&scratch);
  CeilingFile grow{onceflow::JoinPath(o.dir, "diag.grow"), -1, kGrowFileBytes};
  grow.fd = ::open(grow.path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (grow.fd < 0) Die("open " + grow.path);
  struct Cell {
    const char* name;
    RawMode mode;
    bool zerofill;
  };
  const Cell cells[] = {{"overwrite", RawMode::kOverwrite, false},
                        {"grow", RawMode::kGrow, false},
                        {"fallocate", RawMode::kFallocate, false},
                        {"overwrite+zerofill", RawMode::kOverwrite, true},
                        {"grow+zerofill", RawMode::kGrow, true}};
  std::printf("%-10s", "group");
  for (const Cell& c : cells) std::printf(" %22s", c.name);
  std::printf(" %16s\n", "zerofill MB/s");
  for (uint64_t group : {uint64_t{64} << 10, uint64_t{256} << 10, uint64_t{1} << 20,
                         uint64_t{4} << 20, kDiagnoseMaxGroup}) {
    std::printf("%7" PRIu64 "KiB", group >> 10);
    std::vector<double> zf_rates;
    for (const Cell& c : cells) {
      std::vector<double> mb, us;
      for (int rep = 0; rep < o.reps; ++rep) {
        if (c.mode == RawMode::kOverwrite) {
          // Restore a zero-filled file: grow/fallocate cells truncated it.
          ::close(scratch.fd);
          ZeroFill(&scratch);
        }
        Settle(o.dir);
        std::atomic<bool> stop{false};
        uint64_t zf_bytes = 0;
        int64_t zf_t0 = NowNs();
        std::thread zf;
        if (c.zerofill) {
          zf = std::thread([&] {
            CeilingFile z{onceflow::JoinPath(o.dir, "diag.zerofill"), -1, 64u << 20};
            while (!stop.load()) {
              ZeroFill(&z, true);
              zf_bytes += z.size;
            }
          });
        }
        std::vector<CeilingFile> one{c.mode == RawMode::kGrow ? grow : scratch};
        RawRun r = RunRaw(one, 1, group, true, o.ceiling_seconds, data, c.mode);
        stop = true;
        if (zf.joinable()) {
          zf.join();
          zf_rates.push_back(zf_bytes / ((NowNs() - zf_t0) / 1e9) / 1e6);
        }
        mb.push_back(r.mb_per_s);
        us.push_back(r.sync_us);
      }
      char cell[64];
      std::snprintf(cell, sizeof cell, "%.0f (%.0f)", Median(mb), Median(us));
      std::printf(" %22s", cell);
      std::fflush(stdout);
    }
    std::printf(" %16.0f\n", Median(zf_rates));
  }
  ::close(scratch.fd);
  ::close(grow.fd);
  onceflow::RemoveFile(scratch.path).IgnoreError();  // best-effort cleanup
  onceflow::RemoveFile(grow.path).IgnoreError();  // ditto
  onceflow::RemoveFile(onceflow::JoinPath(o.dir, "diag.zerofill")).IgnoreError();  // ditto
}

void Usage() {
  std::printf(
      "usage: log_append_bench [--quick] [--dir DIR] [--seconds S] [--ceiling-seconds S]\n"
      "                        [--reps N] [--batch-bytes N] [--records-per-append N]\n"
      "                        [--segment-mib N] [--only SUBSTR] [--keep] [--preallocate]\n"
      "                        [--diagnose]\n"
      "  --quick          ~15-20 s: 0.15 s log runs, 0.08 s ceiling runs, 64 MiB ceiling files\n"
      "                   (the log rarely reaches its second segment: mostly seg1 figures)\n"
      "  --dir DIR        where logs and ceiling files go (default ./log_append_bench.data);\n"
      "                   put it on the disk you care about, not on tmpfs\n"
      "  --seconds S      duration of each log run (default 1.25)\n"
      "  --ceiling-seconds S  duration of each raw ceiling run (default 0.5)\n"
      "  --reps N         repetitions, interleaved; medians are reported (default 3)\n"
      "  --batch-bytes N  bytes of records per append when batching (default 65536)\n"
      "  --records-per-append N  overrides --batch-bytes\n"
      "  --segment-mib N  segment size of the log (default 64, the library's default)\n"
      "  --only SUBSTR[,SUBSTR...]  run only configurations whose name contains one of them,\n"
      "                   e.g. 1KiB/t16 or t16/batch/fsync,t1/batch/fsync\n"
      "  --keep           leave the files behind\n"
      "  --preallocate    LogOptions::preallocate = true: zero-fill the next segment ahead\n"
      "                   (the default, as in the library, is off: segments grow as written)\n"
      "  --diagnose       instead: raw disk experiments (grow vs overwrite vs fallocate,\n"
      "                   with and without a concurrent zero-fill) that explain the figures\n");
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  bool quick = false, seconds_set = false, ceiling_set = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value after " + std::string(a));
      return argv[++i];
    };
    if (a == "--quick") {
      quick = true;
    } else if (a == "--dir") {
      o.dir = next();
    } else if (a == "--seconds") {
      o.seconds = std::stod(next());
      seconds_set = true;
    } else if (a == "--ceiling-seconds") {
      o.ceiling_seconds = std::stod(next());
      ceiling_set = true;
    } else if (a == "--reps") {
      o.reps = std::stoi(next());
    } else if (a == "--batch-bytes") {
      o.batch_bytes = std::stoul(next());
    } else if (a == "--records-per-append") {
      o.records_per_append = static_cast<uint32_t>(std::stoul(next()));
    } else if (a == "--segment-mib") {
      o.segment_bytes = std::stoull(next()) << 20;
    } else if (a == "--only") {
      o.only = next();
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--no-preallocate") {
      o.preallocate = false;
    } else if (a == "--preallocate") {
      o.preallocate = true;
    } else if (a == "--diagnose") {
      o.diagnose = true;
    } else if (a == "--help" || a == "-h") {
      Usage();
      std::exit(0);
    } else {
      Usage();
      Die("unknown argument " + std::string(a));
    }
  }
  if (quick) {
    if (!seconds_set) o.seconds = 0.15;
    if (!ceiling_set) o.ceiling_seconds = 0.08;
    o.ceiling_file_bytes = 64u << 20;
    g_settle_ms = 10;
  }
  if (o.reps < 1 || o.seconds <= 0 || o.ceiling_seconds <= 0 || o.batch_bytes < 64) {
    Die("bad arguments");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  if (RealPwritev() == nullptr) Die("dlsym(pwritev) failed");
  if (auto s = onceflow::CreateDirs(o.dir); !s.ok()) Die(s.ToString());
  std::vector<Config> configs;
  for (const Config& c : MakeConfigs()) {
    // --only: comma-separated substrings; a configuration runs if its name contains any.
    bool match = o.only.empty();
    for (size_t at = 0; !match && at <= o.only.size();) {
      size_t end = o.only.find(',', at);
      if (end == std::string::npos) end = o.only.size();
      const std::string part = o.only.substr(at, end - at);
      match = !part.empty() && c.name.find(part) != std::string::npos;
      at = end + 1;
    }
    if (match) configs.push_back(c);
  }
  if (configs.empty()) Die("no configuration matches --only " + o.only);

  const std::string fs = FsType(o.dir);
  std::printf("log_append_bench: dir=%s (%s), %u cpus, %.2f s per log run, %.2f s per ceiling "
              "run, %d reps, batch %zu B, segment %" PRIu64 " MiB, kMaxGroupBytes %" PRIu64
              " KiB, preallocate %s\n",
              o.dir.c_str(), fs.c_str(), std::thread::hardware_concurrency(), o.seconds,
              o.ceiling_seconds, o.reps, o.batch_bytes, o.segment_bytes >> 20,
              kMaxGroupBytes >> 10, o.preallocate ? "on" : "off");
  std::printf("load average at start: %s", LoadAverage().c_str());
  std::fflush(stdout);
  if (fs == "tmpfs") {
    std::printf("WARNING: %s is tmpfs: fdatasync costs nothing, the figures mean nothing\n",
                o.dir.c_str());
  }

  std::string data(kDiagnoseMaxGroup, '\0');
  {
    std::mt19937_64 rng(7);
    for (char& ch : data) ch = static_cast<char>(rng());
  }
  // Ceiling files: one per partition of the widest configuration, zero-filled like a
  // preallocated segment. The zero-fill rate is itself a figure: it bounds how fast the log's
  // background preallocation can stay ahead of the appends.
  int max_parts = 1;
  for (const Config& c : configs) max_parts = std::max(max_parts, c.partitions);
  std::vector<CeilingFile> files(o.diagnose ? 1 : max_parts);
  double fill_secs = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    files[i].path = onceflow::JoinPath(o.dir, "ceiling." + std::to_string(i));
    files[i].size = o.ceiling_file_bytes;
    fill_secs += ZeroFill(&files[i]);
  }
  const double fill_mb_s = files.size() * o.ceiling_file_bytes / fill_secs / 1e6;
  std::printf("zero-fill of a new file (1 MiB pwrites, one fdatasync): %.0f MB/s over %zu x %" PRIu64
              " MiB\n\n",
              fill_mb_s, files.size(), o.ceiling_file_bytes >> 20);
  // Grow files: the same writes, but each extends the file (what a segment that is not
  // preallocated costs: block allocation and a journal commit per fdatasync).
  std::vector<CeilingFile> grow_files(o.diagnose ? 0 : max_parts);
  for (size_t i = 0; i < grow_files.size(); ++i) {
    grow_files[i].path = onceflow::JoinPath(o.dir, "grow." + std::to_string(i));
    grow_files[i].size = kGrowFileBytes;
    grow_files[i].fd = ::open(grow_files[i].path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
                              0644);
    if (grow_files[i].fd < 0) Die("open " + grow_files[i].path);
  }
  auto cleanup = [&] {
    for (auto* v : {&files, &grow_files}) {
      for (CeilingFile& f : *v) {
        ::close(f.fd);
        if (!o.keep) onceflow::RemoveFile(f.path).IgnoreError();  // best-effort cleanup
      }
    }
  };
  if (o.diagnose) {
    Diagnose(o, files, data);
    cleanup();
    return 0;
  }

  struct Rep {
    LogRun log;
    RawRun ceiling;  // fsync: same bytes per fdatasync as the log; none: same write size
    RawRun grow;     // fsync only: the same into a growing file
    double ratio = 0;
    double steady_ratio = -1;
    double grow_ratio = -1;
  };
  const std::string log_dir = onceflow::JoinPath(o.dir, "log");
  std::vector<std::vector<Rep>> reps(configs.size());
  std::vector<double> best_ceiling;  // kMaxGroupBytes per fdatasync, one file
  for (int rep = 0; rep < o.reps; ++rep) {
    Settle(o.dir);
    best_ceiling.push_back(RunRaw(files, 1, kMaxGroupBytes, true, o.ceiling_seconds, data).mb_per_s);
    for (size_t i = 0; i < configs.size(); ++i) {
      const Config& c = configs[i];
      const bool fsync = c.durability == Durability::kFsync;
      Rep r;
      Settle(o.dir);
      r.log = RunLog(o, c, log_dir);
      Settle(o.dir);
      // Matched ceiling: the log's average bytes per group write (and fdatasync), per partition.
      const auto group = static_cast<uint64_t>(r.log.avg_group_bytes());
      r.ceiling = RunRaw(files, c.partitions, group, fsync, o.ceiling_seconds, data);
      r.ratio = r.log.mb_per_s() / r.ceiling.mb_per_s;
      if (r.log.steady_mb_s >= 0) r.steady_ratio = r.log.steady_mb_s / r.ceiling.mb_per_s;
      if (fsync) {
        Settle(o.dir);
        r.grow = RunRaw(grow_files, c.partitions, group, true, o.ceiling_seconds, data,
                        RawMode::kGrow);
        r.grow_ratio = r.log.mb_per_s() / r.grow.mb_per_s;
      }
      if (!o.keep) onceflow::RemoveAll(log_dir).IgnoreError();  // recreated by the next run
      std::printf("rep %d %-22s %8s rec/s %7.1f MB/s (seg1 %6s, steady %6s) groups %6" PRIu64
                  " avg %6.1f KiB sync %5.0f us | ceiling %7.1f MB/s sync %5.0f us | ratio %.2f"
                  " | grow %6s MB/s | rolls %" PRIu64 " stalled %.0f ms\n",
                  rep + 1, c.name.c_str(), Human(r.log.records_per_s()).c_str(), r.log.mb_per_s(),
                  Fixed(r.log.seg1_mb_s, 1).c_str(), Fixed(r.log.steady_mb_s, 1).c_str(),
                  r.log.groups, r.log.avg_group_bytes() / 1024, r.log.sync_us,
                  r.ceiling.mb_per_s, r.ceiling.sync_us, r.ratio,
                  fsync ? Fixed(r.grow.mb_per_s, 1).c_str() : "-", r.log.rolls,
                  r.log.roll_ms_total);
      std::fflush(stdout);
      reps[i].push_back(r);
    }
  }

  const double best = Median(best_ceiling);
  std::printf(
      "\nMEDIANS of %d repetitions (each figure is the median of its own column)\n"
      "  ceiling: raw pwrite + fdatasync into a zero-filled file, with the log's own average group\n"
      "           (bytes per fdatasync) of that repetition, one file and thread per partition;\n"
      "           durability=none: the same writes without fdatasync (page cache).\n"
      "  ratio:   log MB/s / ceiling MB/s of the same repetition; steady: the same after the first\n"
      "           roll; grow: the same writes into a growing file (no preallocation), and log / it.\n"
      "  seg1:    MB/s until the first segment roll (the first segment is never preallocated: its\n"
      "           file grows); steady: MB/s after it. '-': no roll, or too little time after it.\n"
      "  /best:   log MB/s / the best ceiling (%" PRIu64 " KiB per fdatasync, one file): %.1f MB/s.\n"
      "  zero-fill of a new file: %.0f MB/s.\n\n",
      o.reps, kMaxGroupBytes >> 10, best, fill_mb_s);
  std::printf("%-22s %9s %7s %7s %7s | %7s %5s %6s | %7s %5s | %5s | %6s %6s %6s\n", "config",
              "records/s", "MB/s", "seg1", "steady", "ceiling", "ratio", "steady", "grow",
              "ratio", "/best", "p50", "p99", "max");
  std::printf("%-22s %9s %7s %7s %7s | %7s %5s %6s | %7s %5s | %5s | %6s %6s %6s\n", "", "", "",
              "MB/s", "MB/s", "MB/s", "", "ratio", "MB/s", "", "", "ms", "ms", "ms");
  struct Summary {
    Config c;
    double rec_s, mb_s, ratio, steady_ratio, steady_rec_s, ceiling, grow_ratio;
  };
  std::vector<Summary> sums;
  for (size_t i = 0; i < configs.size(); ++i) {
    auto med = [&](auto f) {
      std::vector<double> v;
      for (const Rep& r : reps[i]) v.push_back(f(r));
      return Median(v);
    };
    const Config& c = configs[i];
    const bool fsync = c.durability == Durability::kFsync;
    Summary s{c,
              med([](const Rep& r) { return r.log.records_per_s(); }),
              med([](const Rep& r) { return r.log.mb_per_s(); }),
              med([](const Rep& r) { return r.ratio; }),
              med([](const Rep& r) { return r.steady_ratio; }),
              med([](const Rep& r) { return r.log.steady_rec_s; }),
              med([](const Rep& r) { return r.ceiling.mb_per_s; }),
              med([](const Rep& r) { return r.grow_ratio; })};
    std::printf("%-22s %9s %7.1f %7s %7s | %7.1f %5.2f %6s | %7s %5s | %5s | %6.2f %6.1f %6.1f\n",
                c.name.c_str(), Human(s.rec_s).c_str(), s.mb_s,
                Fixed(med([](const Rep& r) { return r.log.seg1_mb_s; }), 1).c_str(),
                Fixed(med([](const Rep& r) { return r.log.steady_mb_s; }), 1).c_str(), s.ceiling,
                s.ratio, Fixed(s.steady_ratio, 2).c_str(),
                fsync ? Fixed(med([](const Rep& r) { return r.grow.mb_per_s; }), 1).c_str() : "-",
                Fixed(s.grow_ratio, 2).c_str(), fsync ? Fixed(s.mb_s / best, 2).c_str() : "-",
                med([](const Rep& r) { return r.log.p50_us; }) / 1e3,
                med([](const Rep& r) { return r.log.p99_us; }) / 1e3,
                med([](const Rep& r) { return r.log.max_us; }) / 1e3);
    sums.push_back(s);
  }

  // Group cycle: the time between two group commits of one partition; write + sync of it is
  // the I/O, the rest is queueing, lock hand-off, wake-ups, rolls and the producers' own work.
  std::printf("\n%-22s %9s %8s %9s %9s | %6s %6s %6s %6s | %6s %6s | %5s %7s %7s %8s %6s | %4s "
              "%5s\n",
              "config", "appends/s", "groups/s", "avg_group", "rec/group", "cycle", "write",
              "sync", "handof", "c.wri", "c.sync", "rolls", "stalled", "longest", "prealloc",
              "1roll", "cpu", "build");
  std::printf("%-22s %9s %8s %9s %9s | %6s %6s %6s %6s | %6s %6s | %5s %7s %7s %8s %6s | %4s "
              "%5s\n",
              "", "", "", "KiB", "", "us", "us", "us", "us", "us", "us", "", "ms", "ms", "MiB",
              "at s", "", "share");
  for (size_t i = 0; i < configs.size(); ++i) {
    auto med = [&](auto f) {
      std::vector<double> v;
      for (const Rep& r : reps[i]) v.push_back(f(r));
      return Median(v);
    };
    const Config& c = configs[i];
    const bool fsync = c.durability == Durability::kFsync;
    std::printf(
        "%-22s %9s %8s %9.1f %9.1f | %6.0f %6.0f %6s %6s | %6.0f %6s | %5.0f %7.0f %7.0f %8.0f "
        "%6s | %3.0f%% %4.0f%%\n",
        c.name.c_str(),
        Human(med([](const Rep& r) { return r.log.appends / r.log.seconds; })).c_str(),
        Human(med([](const Rep& r) { return r.log.groups / r.log.seconds; })).c_str(),
        med([](const Rep& r) { return r.log.avg_group_bytes() / 1024; }),
        med([](const Rep& r) { return r.log.groups ? double(r.log.records) / r.log.groups : 0; }),
        med([&](const Rep& r) {
          return r.log.groups ? r.log.seconds * 1e6 * c.partitions / r.log.groups : 0;
        }),
        med([](const Rep& r) { return r.log.write_us; }),
        fsync ? Fixed(med([](const Rep& r) { return r.log.sync_us; }), 0).c_str() : "-",
        Fixed(med([](const Rep& r) { return r.log.handoff_us; }), 0).c_str(),
        med([](const Rep& r) { return r.ceiling.write_us; }),
        fsync ? Fixed(med([](const Rep& r) { return r.ceiling.sync_us; }), 0).c_str() : "-",
        med([](const Rep& r) { return double(r.log.rolls); }),
        med([](const Rep& r) { return r.log.roll_ms_total; }),
        med([](const Rep& r) { return r.log.roll_ms_max; }),
        med([](const Rep& r) { return r.log.prealloc_bytes / 1048576.0; }),
        Fixed(med([](const Rep& r) { return r.log.first_roll_s; }), 2).c_str(),
        med([](const Rep& r) { return r.log.cpu; }) * 100,
        med([](const Rep& r) { return r.log.build_share; }) * 100);
  }
  std::printf(
      "  cycle = seconds x partitions / groups; write, sync = the log's average pwritev and "
      "fdatasync per group;\n  handof = from the end of a group's fdatasync to the next group's "
      "pwritev (one partition, fsync);\n  c.wri, c.sync = the matched ceiling's; stalled = total time "
      "appenders spent rolling segments\n  (appends of that partition wait), longest = the "
      "longest roll; prealloc = zero-fill written by the\n  preallocation thread; 1roll = when "
      "the first roll completed; cpu = process CPU / (elapsed x cpus);\n  build = share of "
      "producer time spent building batches with BatchBuilder\n");

  std::printf("\nTARGETS (durability=fsync; whole run from a fresh log, and steady = after the "
              "first roll)\n");
  for (const Summary& s : sums) {
    if (s.c.durability != Durability::kFsync) continue;
    if (s.c.record_bytes == 1024) {
      std::printf("  %-4s %-22s 1 KiB records >= 0.80 x raw ceiling: %.2f x (%.1f of %.1f MB/s)",
                  s.ratio >= 0.8 ? "PASS" : "MISS", s.c.name.c_str(), s.ratio, s.mb_s, s.ceiling);
      if (s.steady_ratio >= 0) {
        std::printf("; steady %s %.2f x", s.steady_ratio >= 0.8 ? "PASS" : "MISS", s.steady_ratio);
      }
    } else {
      std::printf("  %-4s %-22s 100 B records >= 5 M records/s durable: %.2f M records/s",
                  s.rec_s >= 5e6 ? "PASS" : "MISS", s.c.name.c_str(), s.rec_s / 1e6);
      if (s.steady_rec_s >= 0) {
        std::printf("; steady %s %.2f M", s.steady_rec_s >= 5e6 ? "PASS" : "MISS",
                    s.steady_rec_s / 1e6);
      }
    }
    std::printf("\n");
  }
  std::printf("load average at end: %s", LoadAverage().c_str());
  cleanup();
  return 0;
}
