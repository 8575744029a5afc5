// The raw ceiling of a disk: sequential pwrite + fdatasync of random bytes into preallocated
// (zero-filled), growing or fallocate()d files, one thread per file; the zero-fill itself; and
// --diagnose, these raw write patterns alone and beside a concurrent zero-fill.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onceflow::bench {

// Flushes the file system and lets the device settle for g_settle_ms (deleted files are
// discarded at the journal commit on a `discard` mount), so that one run's leftovers do not
// slow the next.
extern int g_settle_ms;
void Settle(const std::string& dir);

struct CeilingFile {
  std::string path;
  int fd = -1;
  uint64_t size = 0;
};

// Zero-fills a new file the way the log preallocates a segment (1 MiB writes, one fdatasync),
// leaving it open in *f unless `close_after`. Returns the seconds it took.
double ZeroFill(CeilingFile* f, bool close_after = false);

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

// One thread per file writes `group` bytes of random data (`data`) then fdatasyncs (if
// `sync`), sequentially, for `seconds`.
RawRun RunRaw(std::vector<CeilingFile>& files, size_t nfiles, uint64_t group, bool sync,
              double seconds, const std::string& data, RawMode mode = RawMode::kOverwrite);

// A growing file stops there (a raw run rarely gets that far): no truncation inside a run.
constexpr uint64_t kGrowFileBytes = 1u << 30;

// The largest group --diagnose tries: above kMaxGroupBytes, to show what the cap costs.
constexpr uint64_t kDiagnoseMaxGroup = 16u << 20;

// What --diagnose needs of the options: files in `dir` (scratch files of `file_bytes`),
// `reps` repetitions of `seconds` per cell.
struct DiagnoseOptions {
  std::string dir;
  double seconds;
  int reps;
  uint64_t file_bytes;
};

// --diagnose: what the disk does with the write patterns a log can produce; prints a table.
// `data` holds at least kDiagnoseMaxGroup random bytes.
void Diagnose(const DiagnoseOptions& o, const std::string& data);

}  // namespace onceflow::bench
