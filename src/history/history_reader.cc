// ReadHistorySnapshot and the public ReadBatchHistory over it.
#include "history/history_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "history/history_format.h"
#include "onceflow/batch_history.h"
#include "util/file.h"

namespace onceflow::history {

namespace {

// A damaged-looking newest file is read again this many times: a reader that copies a file
// while the writer appends to it can see an entry half-written with the next one already after
// it (the page cache is copied page by page), which is not damage.
constexpr int kNewestFileReads = 3;

}  // namespace

Result<HistorySnapshot> ReadHistorySnapshot(const std::string& history_dir) {
  HistorySnapshot snap;
  if (!PathExists(history_dir)) return snap;
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(history_dir));
  std::vector<uint64_t> generations;
  for (const std::string& name : names) {
    if (std::optional<uint64_t> g = ParseHistoryFileName(name)) generations.push_back(*g);
  }
  std::sort(generations.begin(), generations.end());
  std::vector<std::string> warnings;
  for (size_t i = 0; i < generations.size(); ++i) {
    const bool newest = i + 1 == generations.size();
    auto path = std::make_unique<std::string>(
        JoinPath(history_dir, MakeHistoryFileName(generations[i])));
    auto bytes = std::make_unique<std::string>();
    HistoryFileScan scan;
    bool vanished = false;
    for (int attempt = 0; attempt < (newest ? kNewestFileReads : 1); ++attempt) {
      Result<std::string> read = ReadFileToString(*path);
      if (!read.has_value()) {
        // Dropped by the writer since the listing (it keeps the newest generations only).
        if (read.error().IsNotFound() || !PathExists(*path)) {
          vanished = true;
        } else {
          warnings.push_back(fmt::format("history file {} cannot be read: {}", *path,
                                         read.error().message()));
          vanished = true;
        }
        break;
      }
      *bytes = std::move(*read);
      scan = ScanHistoryFile(*bytes);
      if (!scan.damage.has_value()) break;
    }
    if (vanished) continue;
    if (scan.damage.has_value()) {
      warnings.push_back(fmt::format("history file {} is damaged at {}; its records after that are "
                                     "skipped",
                                     *path, *scan.damage));
    }
    for (const HistoryEntry& e : scan.entries) {
      snap.entries.push_back(
          {.key = e.key, .value = e.value, .file = *path, .position = e.position});
    }
    // The bound of the newest file that has its header yet (a file just started may not).
    if (scan.max_batches > 0) snap.max_batches = scan.max_batches;
    if (newest) {
      snap.newest_generation = generations[i];
      snap.newest_valid_end = scan.valid_end;
      snap.newest_max_batches = scan.max_batches;
      snap.newest_entries = scan.entries.size();
    }
    snap.bytes.push_back(std::move(bytes));
    snap.paths.push_back(std::move(path));
  }
  for (const std::string& w : warnings) {
    if (!snap.warning.empty()) snap.warning += "; ";
    snap.warning += w;
  }
  return snap;
}

}  // namespace onceflow::history

namespace onceflow {

Result<HistoryReadResult> ReadBatchHistory(const std::string& checkpoint_dir, int64_t limit) {
  ONCEFLOW_ASSIGN_OR_RETURN(history::HistorySnapshot snap,
                            history::ReadHistorySnapshot(history::HistoryDir(checkpoint_dir)));
  HistoryReadResult result;
  result.warning = std::move(snap.warning);
  // Only batch records count; the writer bounds the files to the last max_batches of them.
  std::vector<const history::HistorySnapshot::Entry*> entries;
  entries.reserve(snap.entries.size());
  for (const auto& e : snap.entries) {
    if (history::ParseBatchKey(e.key).has_value()) entries.push_back(&e);
  }
  size_t first = 0;
  if (snap.max_batches > 0 && entries.size() > static_cast<size_t>(snap.max_batches)) {
    first = entries.size() - static_cast<size_t>(snap.max_batches);
  }
  if (limit >= 0 && entries.size() - first > static_cast<size_t>(limit)) {
    first = entries.size() - static_cast<size_t>(limit);
  }
  // A batch id is committed once. Should two records both say so (which the writer never does),
  // the newest stays "committed" and the older ones read as "superseded", so that no batch is
  // shown or counted as two commits.
  std::unordered_map<int64_t, size_t> committed;  // batch id -> index in result.batches
  result.batches.reserve(entries.size() - first);
  for (size_t i = first; i < entries.size(); ++i) {
    Result<BatchRecord> record = BatchRecordFromJson(entries[i]->value);
    if (!record.has_value()) {
      if (!result.warning.empty()) result.warning += "; ";
      result.warning += fmt::format("history file {} has a bad record at offset {}: {}",
                                    entries[i]->file, entries[i]->position,
                                    record.error().message());
      continue;
    }
    if (record->outcome == "committed") {
      auto [it, inserted] = committed.try_emplace(record->batch_id, result.batches.size());
      if (!inserted) {
        result.batches[it->second].outcome = "superseded";
        it->second = result.batches.size();
      }
    }
    result.batches.push_back(std::move(*record));
  }
  return result;
}

}  // namespace onceflow
