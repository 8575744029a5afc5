// I/O accounting by interposition: fdatasync, fsync, ftruncate and pwritev of a benchmark
// executable that links the log statically resolve to the wrappers in io_accounting.cc, which
// count the group writes and fdatasyncs of producer threads apart from those of other threads
// (the background zero-fill), the hand-off between groups, and segment rolls.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "bench_stats.h"

namespace onceflow::bench {

// Producer threads set this; everything else (the preallocation thread) is "other".
extern thread_local bool t_producer;
// The ceiling calls the real functions itself; this keeps its calls out of the counters.
extern thread_local bool t_uncounted;

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
extern IoCounters g_producer_io;
extern IoCounters g_other_io;
// Hand-off between groups (meaningful with one partition): from the end of an appender's
// fdatasync to the start of the next group's pwritev.
extern std::atomic<int64_t> g_last_sync_end_ns;
extern std::atomic<uint64_t> g_handoff_ns;
extern std::atomic<uint64_t> g_handoffs;
// Segment rolls, seen from the calls an appender makes while rolling: the first ftruncate
// (Segment::Seal truncating the old segment to its data) starts one, the second directory
// fsync (Segment::Create making the new segment durable) ends it. A roll runs entirely in the
// leading appender's thread, so the state is per thread.
struct Roll {
  int64_t start_ns;
  int64_t end_ns;
};
extern std::mutex g_roll_mu;
extern std::vector<Roll> g_rolls;  // guarded by g_roll_mu

// The log's durable-end publishes (one 16-byte pwrite after each group's fdatasync,
// src/log/durable_end.h): counted apart, so that they are neither groups nor hand-offs.
extern std::atomic<uint64_t> g_publishes;
extern std::atomic<uint64_t> g_publish_ns;

// libc's pwritev (nullptr if it cannot be found: the program must give up).
using PwritevFn = ssize_t (*)(int, const struct iovec*, int, off_t);
PwritevFn RealPwritev();

}  // namespace onceflow::bench
