// The raw ceiling: sequential pwrite + fdatasync into preallocated (zero-filled) files, and
// the --diagnose experiments.
#include "raw_ceiling.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <latch>
#include <thread>

#include "fatal.h"
#include "io_accounting.h"
#include "log_append_report.h"
#include "util/file.h"

namespace onceflow::bench {

int g_settle_ms = 50;

namespace {

void SyncFs(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::syncfs(fd);
  ::close(fd);
}

}  // namespace

void Settle(const std::string& dir) {
  SyncFs(dir);
  std::this_thread::sleep_for(std::chrono::milliseconds(g_settle_ms));
}

double ZeroFill(CeilingFile* f, bool close_after) {
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

RawRun RunRaw(std::vector<CeilingFile>& files, size_t nfiles, uint64_t group, bool sync,
              double seconds, const std::string& data, RawMode mode) {
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

void Diagnose(const DiagnoseOptions& o, const std::string& data) {
  std::printf("DIAGNOSE: raw pwrite + fdatasync per group, one file, %.2f s per cell, median of "
              "%d; MB/s (average fdatasync us)\n",
              o.seconds, o.reps);
  std::printf("  overwrite = zero-filled file (what a preallocated segment is)\n"
              "  grow      = file truncated to 0, every write extends it (the first segment, "
              "which is never preallocated)\n"
              "  fallocate = fallocate()d file (unwritten extents)\n"
              "  +zerofill = while another thread zero-fills 64 MiB files back to back (what "
              "the log's preallocation thread does)\n\n");
  CeilingFile scratch{onceflow::JoinPath(o.dir, "diag.raw"), -1, o.file_bytes};
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
        RawRun r = RunRaw(one, 1, group, true, o.seconds, data, c.mode);
        stop = true;
        if (zf.joinable()) {
          zf.join();
          zf_rates.push_back(zf_bytes / ((NowNs() - zf_t0) / 1e9) / 1e6);
        }
        mb.push_back(r.mb_per_s);
        us.push_back(r.sync_us);
      }
      char cell[64];
      std::snprintf(cell, sizeof cell, "%.0f (%.0f)", MeasuredMedian(mb), MeasuredMedian(us));
      std::printf(" %22s", cell);
      std::fflush(stdout);
    }
    std::printf(" %16.0f\n", MeasuredMedian(zf_rates));
  }
  ::close(scratch.fd);
  ::close(grow.fd);
  onceflow::RemoveFile(scratch.path).IgnoreError();  // best-effort cleanup
  onceflow::RemoveFile(grow.path).IgnoreError();     // ditto
  onceflow::RemoveFile(onceflow::JoinPath(o.dir, "diag.zerofill")).IgnoreError();  // ditto
}

}  // namespace onceflow::bench
