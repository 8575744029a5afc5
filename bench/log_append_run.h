// One run of log_append_bench: producer threads appending batches to a fresh PartitionLog for
// a fixed time, and what the run measured (throughput before and after the first segment roll,
// group sizes, fdatasync and hand-off times, append latencies, CPU); the options and the
// configurations it runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "log/log_options.h"

namespace onceflow::bench {

using ::onceflow::log::Durability;

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
  bool one_record;     // one record per append instead of a batch
  size_t batch_bytes;  // 0: --batch-bytes
  Durability durability;
};

// The configurations of a full run: 100 B and 1 KiB records, 1/4/16 threads, batches, 1 MiB
// batches, one record per append, 4 partitions, durability none.
std::vector<Config> MakeConfigs();

struct LogRun {
  double seconds = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;  // encoded batch bytes appended: what goes to disk
  uint64_t appends = 0;
  uint64_t groups = 0;     // group writes: pwritev by appenders, less the rolls' own
  double sync_us = 0;      // average fdatasync by an appender (rolls' included)
  double write_us = 0;     // average pwritev by an appender (copy into the page cache)
  double handoff_us = -1;  // average end of a group's fdatasync -> next group's pwritev
  uint64_t rolls = 0;
  uint64_t prealloc_bytes = 0;  // zero-fill written by the background thread
  double first_roll_s = -1;     // when every partition had rolled once; -1 if not
  double roll_ms_total = 0;     // time appenders spent rolling segments (the log is stalled)
  double roll_ms_max = 0;
  double seg1_mb_s = -1;    // throughput before the first roll (a growing file)
  double steady_mb_s = -1;  // throughput after it (preallocated segments); -1 if too short
  double steady_rec_s = -1;
  double p50_us = 0, p99_us = 0, max_us = 0;
  double cpu = 0;          // process CPU seconds / (elapsed * cpus)
  double build_share = 0;  // share of producer time spent building batches

  double records_per_s() const { return records / seconds; }
  double mb_per_s() const { return bytes / seconds / 1e6; }
  double avg_group_bytes() const { return groups ? double(bytes) / groups : 0; }
};

// Appends for o.seconds from c.threads threads to a fresh log in `dir`; leaves the files.
LogRun RunLog(const Options& o, const Config& c, const std::string& dir);

}  // namespace onceflow::bench
