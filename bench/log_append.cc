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
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fatal.h"
#include "io_accounting.h"
#include "log/log_format.h"
#include "log_append_report.h"
#include "log_append_run.h"
#include "raw_ceiling.h"
#include "util/file.h"

namespace {

using onceflow::bench::CeilingFile;
using onceflow::bench::Config;
using onceflow::bench::Diagnose;
using onceflow::bench::Die;
using onceflow::bench::Fixed;
using onceflow::bench::FsType;
using onceflow::bench::Human;
using onceflow::bench::kDiagnoseMaxGroup;
using onceflow::bench::kGrowFileBytes;
using onceflow::bench::LoadAverage;
using onceflow::bench::LogRun;
using onceflow::bench::MakeConfigs;
using onceflow::bench::MeasuredMedian;
using onceflow::bench::Options;
using onceflow::bench::RawMode;
using onceflow::bench::RawRun;
using onceflow::bench::RealPwritev;
using onceflow::bench::RunLog;
using onceflow::bench::RunRaw;
using onceflow::bench::Settle;
using onceflow::bench::ZeroFill;
using onceflow::log::Durability;
using onceflow::log::kMaxGroupBytes;

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
    onceflow::bench::g_settle_ms = 10;
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
              o.ceiling_seconds, o.reps, o.batch_bytes, o.segment_bytes >> 20, kMaxGroupBytes >> 10,
              o.preallocate ? "on" : "off");
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
  std::printf(
      "zero-fill of a new file (1 MiB pwrites, one fdatasync): %.0f MB/s over %zu x %" PRIu64
      " MiB\n\n",
      fill_mb_s, files.size(), o.ceiling_file_bytes >> 20);
  // Grow files: the same writes, but each extends the file (what a segment that is not
  // preallocated costs: block allocation and a journal commit per fdatasync).
  std::vector<CeilingFile> grow_files(o.diagnose ? 0 : max_parts);
  for (size_t i = 0; i < grow_files.size(); ++i) {
    grow_files[i].path = onceflow::JoinPath(o.dir, "grow." + std::to_string(i));
    grow_files[i].size = kGrowFileBytes;
    grow_files[i].fd =
        ::open(grow_files[i].path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
    Diagnose({o.dir, o.ceiling_seconds, o.reps, o.ceiling_file_bytes}, data);
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
    best_ceiling.push_back(
        RunRaw(files, 1, kMaxGroupBytes, true, o.ceiling_seconds, data).mb_per_s);
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
        r.grow =
            RunRaw(grow_files, c.partitions, group, true, o.ceiling_seconds, data, RawMode::kGrow);
        r.grow_ratio = r.log.mb_per_s() / r.grow.mb_per_s;
      }
      if (!o.keep) onceflow::RemoveAll(log_dir).IgnoreError();  // recreated by the next run
      std::printf("rep %d %-22s %8s rec/s %7.1f MB/s (seg1 %6s, steady %6s) groups %6" PRIu64
                  " avg %6.1f KiB sync %5.0f us | ceiling %7.1f MB/s sync %5.0f us | ratio %.2f"
                  " | grow %6s MB/s | rolls %" PRIu64 " stalled %.0f ms\n",
                  rep + 1, c.name.c_str(), Human(r.log.records_per_s()).c_str(), r.log.mb_per_s(),
                  Fixed(r.log.seg1_mb_s, 1).c_str(), Fixed(r.log.steady_mb_s, 1).c_str(),
                  r.log.groups, r.log.avg_group_bytes() / 1024, r.log.sync_us, r.ceiling.mb_per_s,
                  r.ceiling.sync_us, r.ratio, fsync ? Fixed(r.grow.mb_per_s, 1).c_str() : "-",
                  r.log.rolls, r.log.roll_ms_total);
      std::fflush(stdout);
      reps[i].push_back(r);
    }
  }

  const double best = MeasuredMedian(best_ceiling);
  std::printf(
      "\nMEDIANS of %d repetitions (each figure is the median of its own column)\n"
      "  ceiling: raw pwrite + fdatasync into a zero-filled file, with the log's own average "
      "group\n"
      "           (bytes per fdatasync) of that repetition, one file and thread per partition;\n"
      "           durability=none: the same writes without fdatasync (page cache).\n"
      "  ratio:   log MB/s / ceiling MB/s of the same repetition; steady: the same after the "
      "first\n"
      "           roll; grow: the same writes into a growing file (no preallocation), and log / "
      "it.\n"
      "  seg1:    MB/s until the first segment roll (the first segment is never preallocated: its\n"
      "           file grows); steady: MB/s after it. '-': no roll, or too little time after it.\n"
      "  /best:   log MB/s / the best ceiling (%" PRIu64
      " KiB per fdatasync, one file): %.1f MB/s.\n"
      "  zero-fill of a new file: %.0f MB/s.\n\n",
      o.reps, kMaxGroupBytes >> 10, best, fill_mb_s);
  std::printf("%-22s %9s %7s %7s %7s | %7s %5s %6s | %7s %5s | %5s | %6s %6s %6s\n", "config",
              "records/s", "MB/s", "seg1", "steady", "ceiling", "ratio", "steady", "grow", "ratio",
              "/best", "p50", "p99", "max");
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
      return MeasuredMedian(v);
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
              "config", "appends/s", "groups/s", "avg_group", "rec/group", "cycle", "write", "sync",
              "handof", "c.wri", "c.sync", "rolls", "stalled", "longest", "prealloc", "1roll",
              "cpu", "build");
  std::printf("%-22s %9s %8s %9s %9s | %6s %6s %6s %6s | %6s %6s | %5s %7s %7s %8s %6s | %4s "
              "%5s\n",
              "", "", "", "KiB", "", "us", "us", "us", "us", "us", "us", "", "ms", "ms", "MiB",
              "at s", "", "share");
  for (size_t i = 0; i < configs.size(); ++i) {
    auto med = [&](auto f) {
      std::vector<double> v;
      for (const Rep& r : reps[i]) v.push_back(f(r));
      return MeasuredMedian(v);
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
      "pwritev (one partition, fsync);\n  c.wri, c.sync = the matched ceiling's; stalled = total "
      "time "
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
  if (onceflow::bench::g_publishes > 0) {
    std::printf("durable-end publishes (16-byte pwrite after each group's fdatasync): %llu, "
                "%.2f us each on average\n",
                static_cast<unsigned long long>(onceflow::bench::g_publishes.load()),
                onceflow::bench::g_publish_ns / 1e3 / onceflow::bench::g_publishes);
  }
  std::printf("load average at end: %s", LoadAverage().c_str());
  cleanup();
  return 0;
}
