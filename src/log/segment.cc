// Segment files: creation, scanning and recovery, sealing.
#include "log/segment.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "log/log_format.h"
#include "log/loss_record.h"
#include "log/record_batch.h"
#include "log/segment_name.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::log {
namespace {

// A torn write can only damage the last group write, which the group commit caps at this many
// bytes (a larger single batch is written alone). Valid data found further than this past a
// damaged batch proves the damage is not a torn tail.
constexpr uint64_t kTornWindowBytes = 4u << 20;
constexpr size_t kScanChunk = 1u << 20;

// Reads a file front to back through a window buffer.
class ScanBuffer {
 public:
  ScanBuffer(const File& file, uint64_t file_size) : file_(file), file_size_(file_size) {}

  // Makes [pos, pos + n) available and returns a pointer to it, or nullptr at the end of file.
  Result<const char*> Get(uint64_t pos, size_t n) {
    if (pos + n > file_size_) return nullptr;
    if (pos < start_ || pos + n > start_ + buf_.size()) {
      size_t want = std::max(n, kScanChunk);
      want = static_cast<size_t>(std::min<uint64_t>(want, file_size_ - pos));
      buf_.resize(want);
      ONCEFLOW_ASSIGN_OR_RETURN(size_t got, file_.ReadAt(pos, want, buf_.data()));
      buf_.resize(got);
      start_ = pos;
      if (got < n) return nullptr;
    }
    return buf_.data() + (pos - start_);
  }

 private:
  const File& file_;
  uint64_t file_size_;
  uint64_t start_ = 0;
  std::string buf_;
};

bool AllZero(const char* p, size_t n) {
  return std::all_of(p, p + n, [](char c) { return c == 0; });
}

// True if a whole valid batch (header checks and CRC) starts at p, with at most `avail` bytes.
bool ValidBatchAt(const char* p, size_t avail, BatchHeader* out) {
  const auto magic = static_cast<uint8_t>(p[kMagicPos]);
  if (avail < kBatchHeaderSize || (magic != kMagicV1 && magic != kMagicV2)) return false;
  auto header = ParseBatchHeader(std::string_view(p, kBatchHeaderSize));
  if (!header.has_value() || header->length > avail) return false;
  if (crc32c::Value(p + kCrcStart, header->length - kCrcStart) != header->crc) return false;
  *out = *header;
  return true;
}

// The next byte in [from, end) that could be a batch's magic byte, or nullptr.
const char* NextMagic(const char* from, const char* end) {
  if (from >= end) return nullptr;
  const void* a = std::memchr(from, kMagicV1, static_cast<size_t>(end - from));
  const char* limit = a != nullptr ? static_cast<const char*>(a) : end;
  const void* b = std::memchr(from, kMagicV2, static_cast<size_t>(limit - from));
  return b != nullptr ? static_cast<const char*>(b) : static_cast<const char*>(a);
}

// What lies after a damaged batch.
struct AfterDamage {
  uint64_t furthest = 0;     // end of the furthest valid batch found (0: none)
  uint64_t group_start = 0;  // position of the first valid batch that starts a group (0: none)
  Offset last_next{-1};      // the largest next_offset of a valid batch at or after `expected`
};

// Searches [damaged + 1, damaged + search) for valid batches. Stops early once the damage is
// proven not to be a torn write: a batch that starts a later group write, or valid data beyond
// one group write.
Result<AfterDamage> ScanAfterDamage(const File& file, uint64_t file_size, uint64_t damaged,
                                    Offset expected,
                                    uint64_t search = kTornWindowBytes + kMaxBatchBytes) {
  const uint64_t limit = std::min<uint64_t>(file_size, damaged + search);
  std::string region(limit - damaged, '\0');
  ONCEFLOW_ASSIGN_OR_RETURN(size_t got, file.ReadAt(damaged, region.size(), region.data()));
  region.resize(got);
  AfterDamage out;
  size_t q = 1;
  while (q + kBatchHeaderSize <= region.size()) {
    // Candidates have a magic byte in place.
    const char* m = NextMagic(region.data() + q + kMagicPos, region.data() + region.size());
    if (m == nullptr) break;
    q = static_cast<size_t>(m - region.data()) - kMagicPos;
    if (q + kBatchHeaderSize > region.size()) break;
    BatchHeader h;
    if (ValidBatchAt(region.data() + q, region.size() - q, &h)) {
      out.furthest = damaged + q + h.length;
      if (h.base_offset >= expected && h.next_offset() > out.last_next) {
        out.last_next = h.next_offset();
      }
      if (h.starts_group()) {
        out.group_start = damaged + q;
        break;
      }
      if (out.furthest - damaged > kTornWindowBytes) break;
      q += h.length;
    } else {
      ++q;
    }
  }
  return out;
}

// Why the damage at `pos` cannot be a torn write, or "" if it can.
std::string ProvenSynced(const AfterDamage& after, uint64_t pos) {
  if (after.group_start != 0) {
    return "the batch at byte " + std::to_string(after.group_start) +
           " starts a later group write, so these bytes had been synced";
  }
  if (after.furthest > pos + kTornWindowBytes) {
    return "valid data follows up to byte " + std::to_string(after.furthest) +
           ", more than one group write";
  }
  return "";
}

}  // namespace

Segment::Segment(std::string dir, Offset base_offset, File file, uint64_t index_interval_bytes)
    : dir_(std::move(dir)),
      base_offset_(base_offset),
      file_(std::move(file)),
      index_interval_bytes_(index_interval_bytes),
      index_(base_offset),
      next_offset_(base_offset) {}

Result<std::shared_ptr<Segment>> Segment::Create(const std::string& dir, Offset base_offset,
                                                 const std::string& preallocated,
                                                 uint64_t index_interval_bytes) {
  const std::string path = JoinPath(dir, MakeSegmentFileName(base_offset, SegmentFileKind::kLog));
  if (!preallocated.empty()) {
    ONCEFLOW_RETURN_IF_ERROR(RenameFile(preallocated, path));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(File file, File::Open(path, File::Mode::kCreate));
  if (preallocated.empty()) ONCEFLOW_RETURN_IF_ERROR(file.Truncate(0));
  ONCEFLOW_RETURN_IF_ERROR(SyncDir(dir));
  return std::shared_ptr<Segment>(
      new Segment(dir, base_offset, std::move(file), index_interval_bytes));
}

Result<std::shared_ptr<Segment>> Segment::OpenActive(const std::string& dir, Offset base_offset,
                                                     uint64_t index_interval_bytes,
                                                     RecoveryMode mode, Offset limit) {
  const std::string path = JoinPath(dir, MakeSegmentFileName(base_offset, SegmentFileKind::kLog));
  ONCEFLOW_ASSIGN_OR_RETURN(
      File file, File::Open(path, mode == RecoveryMode::kReadOnly ? File::Mode::kReadOnly
                                                                  : File::Mode::kReadWrite));
  std::shared_ptr<Segment> seg(
      new Segment(dir, base_offset, std::move(file), index_interval_bytes));
  ONCEFLOW_RETURN_IF_ERROR(seg->Scan(mode, mode == RecoveryMode::kReadOnly ? limit : kNoLimit));
  if (mode != RecoveryMode::kReadOnly) {
    // An index file beside the active segment is stale (left by a crash while sealing).
    const std::string index_path =
        JoinPath(dir, MakeSegmentFileName(base_offset, SegmentFileKind::kIndex));
    if (PathExists(index_path)) ONCEFLOW_RETURN_IF_ERROR(RemoveFile(index_path));
  }
  return seg;
}

Result<std::shared_ptr<Segment>> Segment::OpenSealed(const std::string& dir, Offset base_offset,
                                                     uint64_t index_interval_bytes,
                                                     bool read_only) {
  const std::string path = JoinPath(dir, MakeSegmentFileName(base_offset, SegmentFileKind::kLog));
  const std::string index_path =
      JoinPath(dir, MakeSegmentFileName(base_offset, SegmentFileKind::kIndex));
  ONCEFLOW_ASSIGN_OR_RETURN(
      File file, File::Open(path, read_only ? File::Mode::kReadOnly : File::Mode::kReadWrite));
  std::shared_ptr<Segment> seg(
      new Segment(dir, base_offset, std::move(file), index_interval_bytes));
  auto bytes = ReadFileToString(index_path);
  if (bytes.has_value()) {
    SegmentSummary summary;
    auto index = OffsetIndex::Decode(*bytes, &summary);
    ONCEFLOW_ASSIGN_OR_RETURN(uint64_t size, seg->file_.Size());
    if (index.has_value() && summary.base_offset == base_offset && summary.data_end == size) {
      seg->index_ = std::move(*index);
      seg->next_offset_ = summary.next_offset;
      seg->data_end_ = summary.data_end;
      seg->max_timestamp_ = summary.max_timestamp;
      return seg;
    }
  }
  // No usable index: a sealed segment was fully durable, so any invalid batch is corruption.
  ONCEFLOW_RETURN_IF_ERROR(seg->Scan(RecoveryMode::kStrict));
  if (!read_only) ONCEFLOW_RETURN_IF_ERROR(seg->Seal());
  return seg;
}

void Segment::MaybeIndex(Offset batch_base, uint64_t position) {
  if (position > 0 && position >= last_indexed_position_ + index_interval_bytes_) {
    index_.Add(batch_base, position);
    last_indexed_position_ = position;
  }
}

void Segment::OnAppended(Offset first, Offset next, uint64_t position, uint64_t bytes,
                         int64_t max_timestamp) {
  if (empty() || max_timestamp > max_timestamp_) max_timestamp_ = max_timestamp;
  next_offset_ = next;
  data_end_ = position + bytes;
}

Status Segment::Scan(RecoveryMode mode, Offset limit) {
  ONCEFLOW_ASSIGN_OR_RETURN(uint64_t file_size, file_.Size());
  ScanBuffer buf(file_, file_size);
  uint64_t pos = data_end_;
  Offset expected = next_offset_;
  std::string why;  // why the batch at `pos` is invalid; empty for a clean end
  bool zero_end = false;
  while (true) {
    if (pos == file_size || expected >= limit) break;
    const size_t avail = static_cast<size_t>(std::min<uint64_t>(kBatchHeaderSize, file_size - pos));
    ONCEFLOW_ASSIGN_OR_RETURN(const char* h, buf.Get(pos, avail));
    if (h == nullptr) {
      why = "unreadable bytes";
      break;
    }
    if (AllZero(h, avail)) {
      // Zero-filled preallocated space: the end of the data. A sealed segment was truncated to
      // its data, so zeros before its end are damage.
      if (mode == RecoveryMode::kStrict) why = "zeroed batch header";
      zero_end = true;
      break;
    }
    if (avail < kBatchHeaderSize) {
      why = "partial batch header";
      break;
    }
    auto header = ParseBatchHeader(std::string_view(h, kBatchHeaderSize));
    if (!header.has_value()) {
      why = header.error().message();
      break;
    }
    if (header->base_offset != expected) {
      why = "base offset " + header->base_offset.ToString() + " where " + expected.ToString() +
            " was expected";
      break;
    }
    // Past the published durable end: possibly written, not yet synced. A clean end for now.
    if (header->next_offset() > limit) break;
    if (pos + header->length > file_size) {
      why = "batch extends past the end of the file";
      break;
    }
    ONCEFLOW_ASSIGN_OR_RETURN(const char* b, buf.Get(pos, header->length));
    auto view = BatchView::Parse(std::string_view(b, header->length));
    if (!view.has_value()) {
      why = view.error().message();
      break;
    }
    MaybeIndex(header->base_offset, pos);
    if (expected == base_offset_ || header->max_timestamp > max_timestamp_) {
      max_timestamp_ = header->max_timestamp;
    }
    expected = header->next_offset();
    pos += header->length;
  }
  next_offset_ = expected;
  data_end_ = pos;
  const std::string way_out = DamageWayOut(dir_);
  auto damaged = [&](const std::string& what, const std::string& proof) {
    return Status::Corruption(what + " at byte " + std::to_string(pos) + " of " + path() +
                              ": offset " + expected.ToString() + " on is damaged (" + proof + ")" +
                              way_out);
  };
  if (zero_end && why.empty() && mode != RecoveryMode::kReadOnly) {
    // Zeros end the data, but a torn group write can leave zeros where its first pages should
    // be and valid batches after them (pages reach the disk in any order). Such stale batches
    // must never be adopted later, when new appends end just before them; and valid data of a
    // later group write (or past one group write) means the zeros are damage, not a torn write.
    ONCEFLOW_ASSIGN_OR_RETURN(AfterDamage after, ScanAfterDamage(file_, file_size, pos, expected,
                                                                 kTornWindowBytes + (1u << 20)));
    if (after.furthest == 0) return Status::Ok();
    if (const std::string proof = ProvenSynced(after, pos);
        !proof.empty() && mode == RecoveryMode::kRecover) {
      return damaged("zeroed batch header", proof);
    }
    return TruncateTornTail(pos, expected, after.last_next,
                            "zeroed batch header followed by stale batches");
  }
  if (why.empty()) return Status::Ok();
  if (mode == RecoveryMode::kReadOnly) {
    // Another process may be mid-write: an invalid batch at the end is data not yet written.
    // A batch of a later group write after it, or valid data far past it, means damage. Readers
    // poll often, so the search is bounded: damage inside a batch larger than 1 MiB may go
    // unnoticed here (the writer's own recovery searches further).
    ONCEFLOW_ASSIGN_OR_RETURN(AfterDamage after, ScanAfterDamage(file_, file_size, pos, expected,
                                                                 kTornWindowBytes + (1u << 20)));
    if (const std::string proof = ProvenSynced(after, pos); !proof.empty()) {
      // The batch at `pos` was read before the data after it: it may have been a write in
      // flight then, completed since (a later group is written only after it). Only a batch
      // still invalid now, with a later group write already on file, is damage.
      ONCEFLOW_ASSIGN_OR_RETURN(bool valid_now, ValidBatchNow(pos));
      if (valid_now) return Status::Ok();  // the next refresh reads on from `pos`
      return damaged("invalid batch (" + why + ")", proof);
    }
    return Status::Ok();
  }

  if (mode == RecoveryMode::kStrict) {
    return damaged("invalid batch (" + why + ") in sealed segment",
                   "a sealed segment was synced whole");
  }
  Offset last_next(-1);
  if (mode == RecoveryMode::kRecover) {
    ONCEFLOW_ASSIGN_OR_RETURN(AfterDamage after, ScanAfterDamage(file_, file_size, pos, expected));
    if (const std::string proof = ProvenSynced(after, pos); !proof.empty()) {
      return damaged("invalid batch (" + why + ")", proof);
    }
    last_next = after.last_next;
  }
  // The damaged batch's own header, when it is readable and in sequence, says which offsets it
  // held.
  if (file_size - pos >= kBatchHeaderSize) {
    std::string h(kBatchHeaderSize, '\0');
    auto got = file_.ReadAt(pos, h.size(), h.data());
    if (got.has_value() && *got == h.size()) {
      auto header = ParseBatchHeader(h);
      if (header.has_value() && header->base_offset == expected &&
          header->next_offset() > last_next) {
        last_next = header->next_offset();
      }
    }
  }
  return TruncateTornTail(pos, expected, last_next, why);
}

Result<bool> Segment::ValidBatchNow(uint64_t pos) const {
  std::string header(kBatchHeaderSize, '\0');
  ONCEFLOW_ASSIGN_OR_RETURN(size_t got, file_.ReadAt(pos, header.size(), header.data()));
  if (got < header.size()) return false;
  auto parsed = ParseBatchHeader(header);
  if (!parsed.has_value()) return false;
  std::string batch(parsed->length, '\0');
  ONCEFLOW_ASSIGN_OR_RETURN(got, file_.ReadAt(pos, batch.size(), batch.data()));
  if (got < batch.size()) return false;
  BatchHeader h;
  return ValidBatchAt(batch.data(), batch.size(), &h);
}

Status Segment::TruncateTornTail(uint64_t pos, Offset first, Offset last_next,
                                 const std::string& why) {
  // A torn tail: the last group write never completed, so it was never acknowledged. Cut it
  // off, with whatever follows it; but first record what is cut, durably, so that it can be
  // shown later and a reader can tell that these offsets were handed out twice.
  LossEvent event;
  event.kind = LossKind::kTornTail;
  event.segment = MakeSegmentFileName(base_offset_, SegmentFileKind::kLog);
  event.byte = pos;
  event.first = first;
  event.last = last_next > first ? last_next - 1 : Offset(-1);
  event.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  event.reason = why;
  event.partition_dir = dir_;
  ONCEFLOW_RETURN_IF_ERROR(AppendLoss(dir_, event));
  ONCEFLOW_RETURN_IF_ERROR(file_.Truncate(pos));
  ONCEFLOW_RETURN_IF_ERROR(file_.Sync());
  torn_tail_ = why + " at byte " + std::to_string(pos) + " of " + path();
  torn_tail_event_ = event;
  return Status::Ok();
}

Status Segment::Refresh(Offset limit) { return Scan(RecoveryMode::kReadOnly, limit); }

Status Segment::Seal() {
  ONCEFLOW_RETURN_IF_ERROR(file_.Truncate(data_end_));
  ONCEFLOW_RETURN_IF_ERROR(file_.Sync());
  SegmentSummary summary{base_offset_, next_offset_, data_end_, max_timestamp_};
  return WriteFileAtomically(
      JoinPath(dir_, MakeSegmentFileName(base_offset_, SegmentFileKind::kIndex)),
      index_.Encode(summary));
}

Status Segment::Remove() {
  ONCEFLOW_RETURN_IF_ERROR(RemoveFile(file_.path()));
  const std::string index_path =
      JoinPath(dir_, MakeSegmentFileName(base_offset_, SegmentFileKind::kIndex));
  if (PathExists(index_path)) ONCEFLOW_RETURN_IF_ERROR(RemoveFile(index_path));
  return Status::Ok();
}

}  // namespace onceflow::log
