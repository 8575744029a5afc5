// The interposed fdatasync, fsync, ftruncate and pwritev, and the counters they keep.
#include "io_accounting.h"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace onceflow::bench {

thread_local bool t_producer = false;
thread_local bool t_uncounted = false;
IoCounters g_producer_io;
IoCounters g_other_io;
std::atomic<int64_t> g_last_sync_end_ns{0};
std::atomic<uint64_t> g_handoff_ns{0};
std::atomic<uint64_t> g_handoffs{0};
std::atomic<uint64_t> g_publishes{0};
std::atomic<uint64_t> g_publish_ns{0};
std::mutex g_roll_mu;
std::vector<Roll> g_rolls;

namespace {

thread_local int64_t t_roll_start_ns = 0;
thread_local int t_roll_fsyncs = 0;

IoCounters* Counters() {
  if (t_uncounted) return nullptr;
  return t_producer ? &g_producer_io : &g_other_io;
}

}  // namespace

PwritevFn RealPwritev() {
  static PwritevFn fn = reinterpret_cast<PwritevFn>(dlsym(RTLD_NEXT, "pwritev"));
  return fn;
}

}  // namespace onceflow::bench

using onceflow::bench::Counters;
using onceflow::bench::g_handoff_ns;
using onceflow::bench::g_handoffs;
using onceflow::bench::g_last_sync_end_ns;
using onceflow::bench::g_producer_io;
using onceflow::bench::g_publish_ns;
using onceflow::bench::g_publishes;
using onceflow::bench::g_roll_mu;
using onceflow::bench::g_rolls;
using onceflow::bench::IoCounters;
using onceflow::bench::NowNs;
using onceflow::bench::RealPwritev;
using onceflow::bench::t_producer;
using onceflow::bench::t_roll_fsyncs;
using onceflow::bench::t_roll_start_ns;
using onceflow::bench::t_uncounted;

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
  if (c == &g_producer_io && count == 1 && iov[0].iov_len == 16) {
    // A durable-end publish (a group write is at least one batch header, more than 16 bytes).
    const ssize_t r = RealPwritev()(fd, iov, count, offset);
    g_publishes.fetch_add(1, std::memory_order_relaxed);
    g_publish_ns.fetch_add(static_cast<uint64_t>(NowNs() - t0), std::memory_order_relaxed);
    return r;
  }
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
