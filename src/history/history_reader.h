// Reading a history directory: every generation file in order, torn tails ignored, damage named.
// ReadBatchHistory (include/onceflow/batch_history.h) parses what this returns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "history/history_file.h"
#include "onceflow/status.h"

namespace onceflow::history {

// The entries of a history directory as found on one read, oldest first.
struct HistorySnapshot {
  struct Entry {
    std::string_view key;  // views into `bytes`
    std::string_view value;
    std::string_view file;  // the generation file's path (a view into `paths`)
    uint64_t position = 0;
  };
  std::vector<Entry> entries;
  // The newest file's max_batches (the one before it while its header is being written; 0:
  // no file).
  int64_t max_batches = 0;
  // The newest generation found (0 when none) and its scan (a writer appends after valid_end).
  uint64_t newest_generation = 0;
  uint64_t newest_valid_end = 0;
  int64_t newest_max_batches = 0;  // from the newest file's header (0: none yet)
  size_t newest_entries = 0;
  std::string warning;
  // What the views point into: the files' bytes and paths.
  std::vector<std::unique_ptr<std::string>> bytes;
  std::vector<std::unique_ptr<std::string>> paths;
};

// Reads every generation file of `history_dir` (missing directory: an empty snapshot). A file
// that vanishes while being read (the writer dropped an old generation) is skipped; a damaged one
// is read up to the damage and named in `warning`. Errors only when the directory cannot be
// listed.
Result<HistorySnapshot> ReadHistorySnapshot(const std::string& history_dir);

}  // namespace onceflow::history
