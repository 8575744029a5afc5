// HistoryCache: incremental reads of the history's generation files, and the answer assembled
// from the parsed records as ReadBatchHistory assembles it (src/history/history_reader.cc).
#include "ui/history_cache.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "history/history_file.h"
#include "history/history_format.h"
#include "util/file.h"

namespace onceflow::ui {
namespace {

// A damaged-looking newest file is read again this many times, as ReadBatchHistory does: a read
// that copies the page cache while the writer appends can see an entry half-written with the
// next one already after it, which is not damage.
constexpr int kNewestFileReads = 3;
// Listings of the history directory one read takes at most (see Read).
constexpr int kListingPasses = 5;

// One batch entry of a file: its parsed record, or why its JSON did not parse.
struct Slot {
  std::shared_ptr<const BatchRecord> record;  // null when `bad` is set
  std::string bad;                            // the warning naming the file and offset
};

// What the cache knows of one generation file.
struct CachedFile {
  uint64_t generation = 0;
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  uint64_t size_seen = 0;  // the file's size and modification time at the last read
  timespec mtime_seen{};
  uint64_t valid_end = 0;   // the end of the last whole entry parsed
  std::string last_entry;   // that entry's bytes (empty: none parsed): the file is still the same
  int64_t max_batches = 0;  // from its header (0: none yet)
  std::optional<std::string> damage;  // found at valid_end on the last read
  std::vector<Slot> slots;
};

// Reads [from, to) of `file` (fewer bytes when it is shorter by now).
Result<std::string> ReadRange(const File& file, uint64_t from, uint64_t to) {
  std::string bytes(to > from ? to - from : 0, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ONCEFLOW_ASSIGN_OR_RETURN(size_t n, file.ReadAt(from + got, bytes.size() - got, &bytes[got]));
    if (n == 0) break;
    got += n;
  }
  bytes.resize(got);
  return bytes;
}

}  // namespace

struct HistoryCache::PipelineHistory {
  std::mutex mu;                  // one read of this pipeline at a time
  std::vector<CachedFile> files;  // by generation, oldest first
};

HistoryCache::HistoryCache() = default;
HistoryCache::~HistoryCache() = default;

uint64_t HistoryCache::bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }

namespace {

// Brings `cached` up to date with the file at `path` (opened as `file`, stat `st`): reads from
// one entry before its valid_end, or the whole file when it is not the file that was parsed.
// Returns the bytes read; an error when the file cannot be read.
Result<uint64_t> Refresh(const File& file, const std::string& path, bool newest,
                         CachedFile* cached) {
  uint64_t read_bytes = 0;
  for (int attempt = 0; attempt < (newest ? kNewestFileReads : 1); ++attempt) {
    struct stat st {};
    if (fstat(file.fd(), &st) != 0) return Err(ErrnoStatus("stat", path, errno));
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    const bool same_file = cached->dev == st.st_dev && cached->ino == st.st_ino;
    const uint64_t check = cached->last_entry.size();
    std::string bytes;
    // Written to without growing (a change in place): not the bytes that were parsed.
    const bool changed_in_place =
        size == cached->size_seen && (st.st_mtim.tv_sec != cached->mtime_seen.tv_sec ||
                                      st.st_mtim.tv_nsec != cached->mtime_seen.tv_nsec);
    bool reuse = same_file && size >= cached->valid_end && !changed_in_place;
    if (reuse) {
      ONCEFLOW_ASSIGN_OR_RETURN(bytes, ReadRange(file, cached->valid_end - check, size));
      read_bytes += bytes.size();
      reuse = bytes.size() >= check &&
              std::string_view(bytes).substr(0, check) == std::string_view(cached->last_entry);
    }
    if (!reuse) {
      // Another file under this name, truncated, or rewritten: parse it from its start.
      const uint64_t generation = cached->generation;
      *cached = CachedFile{};
      cached->generation = generation;
      cached->path = path;
      cached->dev = st.st_dev;
      cached->ino = st.st_ino;
      ONCEFLOW_ASSIGN_OR_RETURN(bytes, ReadRange(file, 0, size));
      read_bytes += bytes.size();
    }
    cached->size_seen = size;
    cached->mtime_seen = st.st_mtim;
    const uint64_t base = cached->valid_end;
    const std::string_view tail = std::string_view(bytes).substr(reuse ? check : 0);
    const history::HistoryFileScan scan = history::ScanHistoryFile(tail, base);
    for (const history::HistoryEntry& e : scan.entries) {
      if (!history::ParseBatchKey(e.key).has_value()) continue;
      Result<BatchRecord> record = BatchRecordFromJson(e.value);
      Slot slot;
      if (record.has_value()) {
        slot.record = std::make_shared<const BatchRecord>(std::move(*record));
      } else {
        slot.bad = fmt::format("history file {} has a bad record at offset {}: {}", path,
                               e.position, record.error().message());
      }
      cached->slots.push_back(std::move(slot));
    }
    if (scan.max_batches > 0) cached->max_batches = scan.max_batches;
    if (scan.valid_end > base) {
      // The bytes of the last whole entry (the header when it is the only one: it is the only
      // entry scan.entries leaves out, and it is the file's first).
      const uint64_t last_start = scan.entries.empty() ? base : scan.entries.back().position;
      cached->last_entry = std::string(tail.substr(last_start - base, scan.valid_end - last_start));
      cached->valid_end = scan.valid_end;
    }
    cached->damage = scan.damage;
    if (!scan.damage.has_value()) break;
  }
  return read_bytes;
}

}  // namespace

Result<CachedHistory> HistoryCache::Read(const std::string& checkpoint_dir, int64_t limit) {
  std::shared_ptr<PipelineHistory> pipeline;
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<PipelineHistory>& slot = pipelines_[checkpoint_dir];
    if (slot == nullptr) slot = std::make_shared<PipelineHistory>();
    pipeline = slot;
  }
  std::lock_guard lock(pipeline->mu);
  const std::string dir = history::HistoryDir(checkpoint_dir);
  CachedHistory result;
  if (!PathExists(dir)) {
    pipeline->files.clear();
    return result;
  }
  // A file listed but gone when opened was rolled away since the listing: the writer has moved
  // on (by two generations, if it was not the oldest), so the listing is taken again, lest the
  // answer lack the newest records. A few passes at most; what is refreshed stays refreshed.
  std::vector<std::string> warnings;
  for (int pass = 0;; ++pass) {
    warnings.clear();
    bool vanished = false;
    ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
    std::vector<uint64_t> generations;
    for (const std::string& name : names) {
      if (std::optional<uint64_t> g = history::ParseHistoryFileName(name)) {
        generations.push_back(*g);
      }
    }
    std::sort(generations.begin(), generations.end());
    std::vector<CachedFile> files;
    files.reserve(generations.size());
    size_t old = 0;  // pipeline->files is sorted by generation too
    for (size_t i = 0; i < generations.size(); ++i) {
      const std::string path = JoinPath(dir, history::MakeHistoryFileName(generations[i]));
      while (old < pipeline->files.size() && pipeline->files[old].generation < generations[i]) {
        ++old;
      }
      CachedFile cached;
      if (old < pipeline->files.size() && pipeline->files[old].generation == generations[i]) {
        cached = std::move(pipeline->files[old]);
      } else {
        cached.generation = generations[i];
        cached.path = path;
      }
      Result<File> file = File::Open(path, File::Mode::kReadOnly);
      if (!file.has_value()) {
        if (!file.error().IsNotFound() && PathExists(path)) {
          warnings.push_back(
              fmt::format("history file {} cannot be read: {}", path, file.error().message()));
        } else {
          vanished = true;  // dropped by the writer since the listing
        }
        continue;
      }
      Result<uint64_t> read = Refresh(*file, path, i + 1 == generations.size(), &cached);
      if (!read.has_value()) {
        warnings.push_back(
            fmt::format("history file {} cannot be read: {}", path, read.error().message()));
        continue;
      }
      bytes_read_.fetch_add(*read, std::memory_order_relaxed);
      if (cached.damage.has_value()) {
        warnings.push_back(
            fmt::format("history file {} is damaged at {}; its records after that are skipped",
                        path, *cached.damage));
      }
      files.push_back(std::move(cached));
    }
    pipeline->files = std::move(files);
    if (!vanished || pass + 1 >= kListingPasses) break;
  }

  // The answer, as ReadBatchHistory: the bound of the newest file with a header, then `limit`.
  int64_t max_batches = 0;
  size_t total = 0;
  for (const CachedFile& f : pipeline->files) {
    if (f.max_batches > 0) max_batches = f.max_batches;
    total += f.slots.size();
  }
  size_t first = 0;
  if (max_batches > 0 && total > static_cast<size_t>(max_batches)) {
    first = total - static_cast<size_t>(max_batches);
  }
  if (limit >= 0 && total - first > static_cast<size_t>(limit)) {
    first = total - static_cast<size_t>(limit);
  }
  std::vector<HistoryRecords::Ptr> out;
  out.reserve(total - first);
  // A batch id is committed once; should two records say so, the older ones read as
  // "superseded". Committed ids normally only grow, so the index is built only when one does not.
  int64_t max_committed = INT64_MIN;
  bool indexed = false;
  std::unordered_map<int64_t, size_t> committed;  // batch id -> index in `out`
  size_t index = 0;
  for (const CachedFile& f : pipeline->files) {
    for (const Slot& slot : f.slots) {
      if (index++ < first) continue;
      if (slot.record == nullptr) {
        warnings.push_back(slot.bad);
        continue;
      }
      const BatchRecord& r = *slot.record;
      if (r.outcome == "committed") {
        if (!indexed && r.batch_id > max_committed) {
          max_committed = r.batch_id;
        } else {
          if (!indexed) {
            for (size_t j = 0; j < out.size(); ++j) {
              if (out[j]->outcome == "committed") committed[out[j]->batch_id] = j;
            }
            indexed = true;
          }
          auto [it, inserted] = committed.try_emplace(r.batch_id, out.size());
          if (!inserted) {
            auto superseded = std::make_shared<BatchRecord>(*out[it->second]);
            superseded->outcome = "superseded";
            out[it->second] = std::move(superseded);
            it->second = out.size();
          }
        }
      }
      out.push_back(slot.record);
    }
  }
  result.records = HistoryRecords(std::move(out));
  for (const std::string& w : warnings) {
    if (!result.warning.empty()) result.warning += "; ";
    result.warning += w;
  }
  return result;
}

}  // namespace onceflow::ui
