// Finding and deliberately skipping damaged ranges of a partition.
#include "log/repair.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include "log/log_format.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "log/segment_name.h"

namespace onceflow::log {
namespace {

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

// The batch at `pos` if it is intact and continues the chain at `expected`; else *why says what
// is wrong with it.
std::optional<BatchHeader> IntactBatchAt(std::string_view data, uint64_t pos, Offset expected,
                                         std::string* why) {
  const std::string_view rest = data.substr(pos);
  if (rest.size() < kBatchHeaderSize) {
    *why = AllZero(rest) ? "zeroed batch header" : "partial batch header";
    return std::nullopt;
  }
  if (AllZero(rest.substr(0, kBatchHeaderSize))) {
    *why = "zeroed batch header";
    return std::nullopt;
  }
  auto header = ParseBatchHeader(rest);
  if (!header.has_value()) {
    *why = header.error().message();
    return std::nullopt;
  }
  if (header->base_offset != expected) {
    *why = "base offset " + header->base_offset.ToString() + " where " + expected.ToString() +
           " was expected";
    return std::nullopt;
  }
  if (header->length > rest.size()) {
    *why = "batch extends past the end of the file";
    return std::nullopt;
  }
  auto view = BatchView::Parse(rest.substr(0, header->length));
  if (!view.has_value()) {
    *why = view.error().message();
    return std::nullopt;
  }
  return *header;
}

// True when [pos, end) holds only zeros: the unused, preallocated end of a segment.
bool CleanEnd(std::string_view data, uint64_t pos) { return AllZero(data.substr(pos)); }

struct Resume {
  uint64_t byte = 0;
  BatchHeader header;
};

// The first intact batch after the damage at `pos` that continues the log: a valid CRC, a base
// offset past `expected` and below `limit`, and followed by an intact batch that chains to it or
// by the end of the data.
std::optional<Resume> FindResume(std::string_view data, uint64_t pos, Offset expected,
                                 Offset limit) {
  for (uint64_t q = pos + 1; q + kBatchHeaderSize <= data.size(); ++q) {
    const auto magic = static_cast<uint8_t>(data[q + kMagicPos]);
    if (magic != kMagicV1 && magic != kMagicV2) continue;
    auto header = ParseBatchHeader(data.substr(q));
    if (!header.has_value() || header->base_offset <= expected || header->next_offset() > limit ||
        header->length > data.size() - q) {
      continue;
    }
    if (!BatchView::Parse(data.substr(q, header->length)).has_value()) continue;
    const uint64_t after = q + header->length;
    std::string why;
    if (after == data.size() || CleanEnd(data, after) ||
        IntactBatchAt(data, after, header->next_offset(), &why).has_value()) {
      return Resume{q, *header};
    }
  }
  return std::nullopt;
}

// True if the damage at `pos` of the active segment cannot be a torn write: an intact batch of
// a later group write follows it, or more than one group write of valid data.
bool ProvenSynced(std::string_view data, const Resume& resume) {
  uint64_t q = resume.byte;
  Offset expected = resume.header.base_offset;
  std::string why;
  while (q < data.size()) {
    auto h = IntactBatchAt(data, q, expected, &why);
    if (!h.has_value()) break;
    if (h->starts_group()) return true;
    q += h->length;
    expected = h->next_offset();
  }
  return q > resume.byte && q - resume.byte > kMaxGroupBytes;
}

// Holds the partition's writer lock (the LOCK file's flock) while alive.
class WriterLock {
 public:
  static Result<WriterLock> Take(const std::string& dir) {
    const std::string path = JoinPath(dir, "LOCK");
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Err(ErrnoStatus("open", path, errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Err(Status::Busy("partition " + dir +
                              " is open for writing by another process: stop it and repeat"));
    }
    return WriterLock(fd);
  }
  WriterLock(WriterLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  ~WriterLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_;
};

// One damaged range and how to split its segment around it.
struct Split {
  LossEvent event;
  bool recorded = false;         // a previous, interrupted repair recorded it already
  std::optional<Resume> resume;  // where intact data continues in the same segment
};

Status ApplySplit(const std::string& dir, const std::string& segment_path, std::string_view data,
                  const Split& split) {
  // 1. The record first: once any file changes, the skipped range is on disk.
  if (!split.recorded) ONCEFLOW_RETURN_IF_ERROR(AppendLoss(dir, split.event));
  // 2. The intact batches after the damage become a segment of their own.
  if (split.resume) {
    const Offset base = split.resume->header.base_offset;
    const std::string path = JoinPath(dir, MakeSegmentFileName(base, SegmentFileKind::kLog));
    const std::string index = JoinPath(dir, MakeSegmentFileName(base, SegmentFileKind::kIndex));
    ONCEFLOW_RETURN_IF_ERROR(WriteFileAtomically(path, data.substr(split.resume->byte)));
    if (PathExists(index)) ONCEFLOW_RETURN_IF_ERROR(RemoveFile(index));
  }
  // 3. The damaged segment ends where the damage begins; its index is rebuilt at the next open.
  ONCEFLOW_ASSIGN_OR_RETURN(File file, File::Open(segment_path, File::Mode::kReadWrite));
  ONCEFLOW_RETURN_IF_ERROR(file.Truncate(split.event.byte));
  ONCEFLOW_RETURN_IF_ERROR(file.Sync());
  const std::string index = segment_path.substr(0, segment_path.size() - 4) + ".index";
  if (PathExists(index)) ONCEFLOW_RETURN_IF_ERROR(RemoveFile(index));
  return SyncDir(dir);
}

}  // namespace

Result<std::vector<LossEvent>> RepairPartition(const std::string& dir, const LogOptions& options,
                                               bool skip_damaged) {
  std::vector<LossEvent> found;
  bool changed = false;
  while (true) {
    ONCEFLOW_ASSIGN_OR_RETURN(WriterLock lock, WriterLock::Take(dir));
    ONCEFLOW_ASSIGN_OR_RETURN(std::vector<LossEvent> losses, ReadLosses(dir));
    ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
    std::vector<Offset> bases;
    for (const std::string& name : names) {
      auto parsed = ParseSegmentFileName(name);
      if (parsed && parsed->kind == SegmentFileKind::kLog) bases.push_back(parsed->base_offset);
    }
    std::sort(bases.begin(), bases.end());
    std::optional<Split> split;
    std::string split_path, split_data;
    for (size_t i = 0; i < bases.size() && !split; ++i) {
      const bool active = i + 1 == bases.size();
      const Offset limit = active ? Offset(INT64_MAX) : bases[i + 1];
      const std::string name = MakeSegmentFileName(bases[i], SegmentFileKind::kLog);
      const std::string path = JoinPath(dir, name);
      ONCEFLOW_ASSIGN_OR_RETURN(std::string data, ReadFileToString(path));
      uint64_t pos = 0;
      Offset expected = bases[i];
      std::string why;
      while (pos < data.size()) {
        auto h = IntactBatchAt(data, pos, expected, &why);
        if (h.has_value()) {
          pos += h->length;
          expected = h->next_offset();
          continue;
        }
        if (CleanEnd(data, pos)) break;  // preallocated space (a sealed segment has none)
        std::optional<Resume> resume = FindResume(data, pos, expected, limit);
        // In the active segment, damage that may be a torn write is for recovery to cut.
        if (active && (!resume || !ProvenSynced(data, *resume))) break;
        Split s;
        s.resume = resume;
        s.event.kind = LossKind::kSkipped;
        s.event.segment = name;
        s.event.byte = pos;
        s.event.first = expected;
        s.event.last = (resume ? resume->header.base_offset : limit) - 1;
        s.event.reason = why;
        s.event.partition_dir = dir;
        s.event.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
        for (const LossEvent& e : losses) {
          if (e.kind == LossKind::kSkipped && e.first == s.event.first && e.last == s.event.last) {
            s.recorded = true;
          }
        }
        if (s.event.last >= s.event.first) found.push_back(s.event);
        if (skip_damaged) {
          split = std::move(s);
          split_path = path;
          split_data = std::move(data);
          break;
        }
        if (!resume) break;
        pos = resume->byte;
        expected = resume->header.base_offset;
      }
    }
    if (!split) break;
    if (split->event.last < split->event.first) split->recorded = true;  // nothing to record
    ONCEFLOW_RETURN_IF_ERROR(ApplySplit(dir, split_path, split_data, *split));
    changed = true;
  }
  if (changed) {
    // Open the partition once: rebuilds the indexes of the segments the splits created, and
    // proves that it opens again.
    ONCEFLOW_ASSIGN_OR_RETURN(auto log, PartitionLog::Open(dir, options));
  }
  return found;
}

}  // namespace onceflow::log
