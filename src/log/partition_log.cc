// PartitionLog: group commit, reads, roll, retention, recovery.
#include "log/partition_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "log/log_format.h"
#include "log/segment_name.h"
#include "util/coding.h"
#include "util/fault_points.h"

namespace onceflow::log {
namespace {
constexpr std::string_view kPreallocName = "next.prealloc";
constexpr std::string_view kLockName = "LOCK";
}  // namespace

std::string_view DurabilityName(Durability d) { return d == Durability::kFsync ? "fsync" : "none"; }

std::optional<Durability> ParseDurability(std::string_view name) {
  if (name == "fsync") return Durability::kFsync;
  if (name == "none") return Durability::kNone;
  return std::nullopt;
}

// An appender waiting in the queue. Lives on the appender's stack.
struct PartitionLog::Writer {
  std::string batch;
  Offset base;
  Status status;
  bool done = false;
  std::condition_variable cv;
};

PartitionLog::PartitionLog(std::string dir, LogOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

PartitionLog::~PartitionLog() {
  if (prealloc_thread_.joinable()) prealloc_thread_.join();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock and the OFD lock
  if (lock_probe_fd_ >= 0) ::close(lock_probe_fd_);
}

Result<std::unique_ptr<PartitionLog>> PartitionLog::Open(const std::string& dir,
                                                         const LogOptions& options) {
  if (options.segment_bytes < 4096 || options.segment_bytes > (1ULL << 31)) {
    return Err(Status::InvalidArgument("segment_bytes must be between 4096 and 2 GiB"));
  }
  std::unique_ptr<PartitionLog> log(new PartitionLog(dir, options));
  if (!options.read_only) {
    ONCEFLOW_RETURN_IF_ERROR(CreateDirs(dir));
    const std::string lock_path = JoinPath(dir, kLockName);
    log->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (log->lock_fd_ < 0) return Err(ErrnoStatus("open", lock_path, errno));
    if (::flock(log->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return Err(Status::Busy("partition " + dir + " is open for writing by another process"));
    }
    // Beside the flock, an OFD lock that readers can test without taking it (F_OFD_GETLK): a
    // reader that finds no writer reads, and syncs, what the last one left (see Load).
    struct flock whole {};
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;
    if (::fcntl(log->lock_fd_, F_OFD_SETLK, &whole) != 0) {
      return Err(ErrnoStatus("lock", lock_path, errno));
    }
  }
  ONCEFLOW_RETURN_IF_ERROR(log->Load());
  if (!options.read_only) ONCEFLOW_RETURN_IF_ERROR(log->PublishRecoveredEnd());
  return log;
}

Status PartitionLog::PublishRecoveredEnd() {
  // Recovery keeps every valid batch it finds, and a writer killed between its write and its
  // fdatasync leaves valid batches that are only in the page cache: sync them before they are
  // published as durable. (Sealed segments were synced when sealed.)
  std::shared_ptr<Segment> active = segments_.back();
  if (options_.durability == Durability::kFsync) ONCEFLOW_RETURN_IF_ERROR(active->file().Sync());
  ONCEFLOW_ASSIGN_OR_RETURN(durable_writer_, DurableEndWriter::Open(dir_, active->next_offset()));
  return Status::Ok();
}

Status PartitionLog::Load() {
  const bool ro = options_.read_only;
  if (ro) durable_reader_ = std::make_unique<DurableEndReader>(dir_);
  auto names = ListDir(dir_);
  if (!names.has_value()) {
    // A read-only reader may look at a partition nobody has written yet.
    if (ro && names.error().IsNotFound()) return Status::Ok();
    return names.error();
  }
  std::vector<Offset> logs;
  std::vector<std::string> stray;
  for (const std::string& name : *names) {
    auto parsed = ParseSegmentFileName(name);
    if (parsed && parsed->kind == SegmentFileKind::kLog) {
      logs.push_back(parsed->base_offset);
    } else if (name.ends_with(".tmp") || name == kPreallocName) {
      stray.push_back(name);
    }
  }
  if (!ro) {
    for (const std::string& name : *names) {
      auto parsed = ParseSegmentFileName(name);
      if (parsed && parsed->kind == SegmentFileKind::kIndex &&
          !std::binary_search(logs.begin(), logs.end(), parsed->base_offset)) {
        stray.push_back(name);  // the index of a segment retention already deleted
      }
    }
    for (const std::string& name : stray) {
      ONCEFLOW_RETURN_IF_ERROR(RemoveFile(JoinPath(dir_, name)));
    }
  }
  ONCEFLOW_ASSIGN_OR_RETURN(losses_, ReadLosses(dir_));
  if (!ro) {
    ONCEFLOW_RETURN_IF_ERROR(LoadSegments(logs, kNoLimit));
    if (segments_.empty()) {
      ONCEFLOW_ASSIGN_OR_RETURN(
          auto seg, Segment::Create(dir_, Offset(0), "", options_.index_interval_bytes));
      segments_.push_back(std::move(seg));
    }
    return Status::Ok();
  }
  // The published end is read before the segments: every record before it was in the files
  // before it was published. With no writer alive, the published end may be stale (the file is
  // never synced: after a machine crash it can hold an older value): the valid data the last
  // writer left is read and made durable by this reader's own fdatasync before it is returned.
  // No DURABLE file: a log written by an older onceflow, read to the end of its valid data;
  // unless a writer created the file meanwhile (it does so before appending), in which case the
  // scan may have met unsynced batches and is done again, bounded.
  ONCEFLOW_ASSIGN_OR_RETURN(const Offset limit, PublishedEnd());
  if (limit != kNoLimit && !WriterAliveLocked()) {
    ONCEFLOW_RETURN_IF_ERROR(LoadSegments(logs, kNoLimit));
    return SyncFoundLocked(limit);
  }
  ONCEFLOW_RETURN_IF_ERROR(LoadSegments(logs, limit));
  if (limit != kNoLimit) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(const Offset now, PublishedEnd());
  return now == kNoLimit ? Status::Ok() : ReloadLocked(now);
}

Status PartitionLog::LoadSegments(const std::vector<Offset>& logs, Offset limit) {
  const bool ro = options_.read_only;
  const RecoveryMode mode = ro ? RecoveryMode::kReadOnly
                            : options_.durability == Durability::kFsync
                                ? RecoveryMode::kRecover
                                : RecoveryMode::kTruncateAtFirstInvalid;
  for (size_t i = 0; i < logs.size(); ++i) {
    // A segment starting past the durable end was rolled to after it was published.
    if (logs[i] > limit) break;
    std::shared_ptr<Segment> seg;
    if (i + 1 < logs.size()) {
      ONCEFLOW_ASSIGN_OR_RETURN(
          seg, Segment::OpenSealed(dir_, logs[i], options_.index_interval_bytes, ro));
      if (seg->next_offset() > limit) {
        // The writer appended (and rolled) since it published the end read above: only the
        // part before that end, as for an active segment.
        ONCEFLOW_ASSIGN_OR_RETURN(seg,
                                  Segment::OpenActive(dir_, logs[i], options_.index_interval_bytes,
                                                      RecoveryMode::kReadOnly, limit));
      }
    } else {
      ONCEFLOW_ASSIGN_OR_RETURN(
          seg, Segment::OpenActive(dir_, logs[i], options_.index_interval_bytes, mode, limit));
      torn_tail_ = seg->torn_tail();
      if (const std::optional<LossEvent>& event = seg->torn_tail_event()) {
        losses_.push_back(*event);
        if (options_.on_loss) {
          options_.on_loss(*event);
        } else {
          ReportLoss(*event);
        }
      }
    }
    if (!segments_.empty() && segments_.back()->next_offset() != seg->base_offset() &&
        !SkippedBetween(segments_.back()->next_offset(), seg->base_offset())) {
      return Status::Corruption("segment " + segments_.back()->path() + " ends at offset " +
                                segments_.back()->next_offset().ToString() + " but " + seg->path() +
                                " starts at offset " + seg->base_offset().ToString() +
                                DamageWayOut(dir_));
    }
    segments_.push_back(std::move(seg));
  }
  return Status::Ok();
}

Result<Offset> PartitionLog::Append(std::string batch) {
  if (options_.read_only) return Err(Status::InvalidArgument("log " + dir_ + " is read-only"));
  if (batch.size() < kBatchHeaderSize || batch.size() > kMaxBatchBytes) {
    return Err(Status::InvalidArgument("batch of " + std::to_string(batch.size()) +
                                       " bytes: a batch holds at most " +
                                       std::to_string(kMaxBatchBytes) + " bytes"));
  }
  // What goes on disk must read back: a batch the reader would call corrupt (no records, a
  // length that is not its size, a bad header) is refused here, before it is acknowledged.
  if (Result<BatchHeader> header = ParseBatchHeader(batch); !header.has_value()) {
    return Err(Status::InvalidArgument("not a valid batch: " + header.error().message()));
  } else if (header->length != batch.size()) {
    return Err(Status::InvalidArgument("not a valid batch: its header says " +
                                       std::to_string(header->length) + " bytes, it has " +
                                       std::to_string(batch.size())));
  }
  Writer w;
  w.batch = std::move(batch);
  std::unique_lock lock(mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(lock);
  if (w.done) {
    if (!w.status.ok()) return Err(w.status);
    return w.base;
  }

  // This appender leads a group: every waiting batch up to kMaxGroupBytes, in queue order.
  size_t group = 0;
  uint64_t group_bytes = 0;
  for (Writer* x : writers_) {
    if (group > 0 && group_bytes + x->batch.size() > kMaxGroupBytes) break;
    group_bytes += x->batch.size();
    ++group;
  }
  Status s = poisoned_;
  if (s.ok() && segments_.back()->data_end() >= options_.segment_bytes) s = RollLocked();
  if (s.ok()) {
    std::shared_ptr<Segment> seg = segments_.back();
    const uint64_t position = seg->data_end();
    Offset next = seg->next_offset();
    int64_t max_ts = seg->max_timestamp();
    std::vector<iovec> iov(group);
    std::vector<std::pair<Offset, uint64_t>> starts(group);
    uint64_t pos = position;
    for (size_t i = 0; i < group; ++i) {
      Writer* x = writers_[i];
      char* b = x->batch.data();
      SetBaseOffset(b, next);
      x->base = next;
      starts[i] = {next, pos};
      next = next + coding::DecodeFixed32(b + kRecordCountPos);
      max_ts = std::max(max_ts, static_cast<int64_t>(coding::DecodeFixed64(b + kMaxTimestampPos)));
      iov[i] = {b, x->batch.size()};
      pos += x->batch.size();
    }
    // The I/O runs unlocked: readers keep reading and the next group gathers meanwhile. Only
    // the leader touches the segment's tail, and it stays at the front of the queue until done.
    lock.unlock();
    // The first batch of a group is marked (format v2), so that recovery can tell the last
    // group write (which a crash may tear) from earlier, synced ones. Its CRC is recomputed,
    // unlocked: the leader's own batch heads the group, and its appender is this thread.
    MarkGroupStart(std::span<char>(w.batch.data(), w.batch.size()));
    s = seg->file().WriteAt(position, iov);
    const bool written = s.ok();
    // Written, not yet durable: readers in other processes must not see this group yet.
    if (s.ok()) s = faults::Hit("log_before_sync");
    if (s.ok() && options_.durability == Durability::kFsync) s = seg->file().Sync();
    // Only now may readers in other processes see the group.
    Status published;
    if (s.ok()) published = durable_writer_->Publish(next);
    lock.lock();
    if (s.ok() && !published.ok()) {
      // The group is durable and is acknowledged (a retry would store it twice), but readers
      // in other processes cannot see it: fail the later appends, so that the writer is
      // reopened, which publishes the end again.
      poisoned_ =
          published
              .WithContext("could not publish the durable end (readers in other "
                           "processes stop before offset " +
                           starts.front().first.ToString() + "); log poisoned until reopened")
              .WithRetryable(false);
    }
    if (!written && IsDiskFull(s) && seg->file().Truncate(position).ok()) {
      // A full disk is the one failure the log survives open: nothing of the group was synced
      // and what reached the file is cut off again, so the next group writes at the same
      // place once space is freed. The group's appenders get the error (retryable).
    } else if (s.ok()) {
      for (const auto& [base, at] : starts) seg->MaybeIndex(base, at);
      seg->OnAppended(starts.front().first, next, position, group_bytes, max_ts);
      if (options_.preallocate && position + group_bytes >= options_.segment_bytes / 2) {
        MaybeStartPreallocation();
      }
    } else {
      poisoned_ = s.WithContext("log poisoned until reopened").WithRetryable(false);
      s = poisoned_;
    }
  }
  for (size_t i = 0; i < group; ++i) {
    Writer* x = writers_.front();
    writers_.pop_front();
    x->status = s;
    x->done = true;
    if (x != &w) x->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  if (s.ok()) data_cv_.notify_all();
  if (!s.ok()) return Err(s);
  return w.base;
}

Status PartitionLog::RollLocked() {
  std::shared_ptr<Segment> old = segments_.back();
  ONCEFLOW_RETURN_IF_ERROR(old->Seal());
  std::string prealloc = TakePreallocatedFile();
  ONCEFLOW_ASSIGN_OR_RETURN(
      auto seg, Segment::Create(dir_, old->next_offset(), prealloc, options_.index_interval_bytes));
  segments_.push_back(std::move(seg));
  EnforceRetentionLocked(
      static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count()));
  return Status::Ok();
}

void PartitionLog::MaybeStartPreallocation() {
  if (options_.durability != Durability::kFsync || prealloc_thread_.joinable()) return;
  const std::string path = JoinPath(dir_, kPreallocName);
  const uint64_t size = options_.segment_bytes;
  prealloc_thread_ = std::thread([this, path, size] {
    // Zero-fill rather than fallocate: fallocate leaves unwritten extents whose conversion
    // costs a journal commit on each fdatasync, which is most of what preallocation saves.
    Status s = [&]() -> Status {
      ONCEFLOW_ASSIGN_OR_RETURN(File f, File::Open(path, File::Mode::kCreate));
      ONCEFLOW_RETURN_IF_ERROR(f.Truncate(0));
      const std::string zeros(1u << 20, '\0');
      for (uint64_t at = 0; at < size; at += zeros.size()) {
        const uint64_t n = std::min<uint64_t>(zeros.size(), size - at);
        ONCEFLOW_RETURN_IF_ERROR(f.WriteAt(at, std::string_view(zeros.data(), n)));
      }
      return f.Sync();
    }();
    prealloc_status_ = s;
  });
}

std::string PartitionLog::TakePreallocatedFile() {
  if (!prealloc_thread_.joinable()) return "";
  prealloc_thread_.join();
  if (!prealloc_status_.ok()) {
    // Preallocation is an optimisation: without it the new segment grows as it is written.
    prealloc_status_.IgnoreError();
    RemoveFile(JoinPath(dir_, kPreallocName)).IgnoreError();  // may not exist
    return "";
  }
  return JoinPath(dir_, kPreallocName);
}

std::shared_ptr<Segment> PartitionLog::FindSegmentLocked(Offset offset) const {
  auto it = std::upper_bound(
      segments_.begin(), segments_.end(), offset,
      [](Offset o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
  if (it == segments_.begin()) return nullptr;
  return *(it - 1);
}

Result<ReadResult> PartitionLog::Read(Offset from, size_t max_bytes) const {
  std::shared_ptr<Segment> seg;
  OffsetIndex::Entry start;
  uint64_t seg_end = 0;
  {
    std::lock_guard lock(mu_);
    if (const LossEvent* lost = SkippedRangeAt(from); lost != nullptr) {
      return ReadResult{nullptr, {}, lost->last + 1, *lost};
    }
    if (segments_.empty() || from >= segments_.back()->next_offset()) {
      return ReadResult{nullptr, {}, from, std::nullopt};
    }
    if (from < segments_.front()->base_offset()) {
      return Err(Status::OutOfRange("offset " + from.ToString() +
                                    " is before the earliest retained offset " +
                                    segments_.front()->base_offset().ToString() + " of " + dir_));
    }
    seg = FindSegmentLocked(from);
    start = seg->index().Lookup(from);
    seg_end = seg->data_end();
  }
  // Read past the wanted bytes by one index interval: the first batches may precede `from`.
  uint64_t want =
      std::min<uint64_t>(seg_end - start.position, max_bytes + options_.index_interval_bytes);
  auto buffer = std::make_shared<std::string>(want, '\0');
  ONCEFLOW_ASSIGN_OR_RETURN(size_t got, seg->Read(start.position, want, buffer->data()));
  buffer->resize(got);

  ReadResult result;
  Offset expected = start.offset;
  size_t p = 0;
  std::vector<std::pair<size_t, uint32_t>> spans;  // batches to return: position, length
  // Built only for damage: a clean read (the hot path) makes no error text.
  auto damaged = [&](const std::string& why) {
    return Status::Corruption(why + " in batch at byte " + std::to_string(start.position + p) +
                              " of " + seg->path() + " (offset " + expected.ToString() + ")" +
                              DamageWayOut(dir_));
  };
  // Damage after the first returned batch ends the read there (`expected` is its offset): the
  // records before it are readable, and the next read, starting at the damaged batch, reports
  // it.
  while (start.position + p < seg_end) {
    if (buffer->size() - p < kBatchHeaderSize) {
      if (!spans.empty()) break;
      return Err(damaged("truncated batch header"));
    }
    auto header = ParseBatchHeader(std::string_view(buffer->data() + p, kBatchHeaderSize));
    Status bad;
    if (!header.has_value()) {
      bad = damaged(header.error().message());
    } else if (header->base_offset != expected) {
      bad = damaged("base offset " + header->base_offset.ToString() + " out of sequence");
    } else if (start.position + p + header->length > seg_end) {
      bad = damaged("batch past data end");
    }
    if (!bad.ok()) {
      if (spans.empty()) return Err(bad);
      break;
    }
    if (p + header->length > buffer->size()) {
      if (!spans.empty()) break;
      // The batch holding `from` is larger than what was read: read the rest of it.
      const size_t have = buffer->size();
      buffer->resize(p + header->length);
      ONCEFLOW_ASSIGN_OR_RETURN(size_t more, seg->Read(start.position + have, buffer->size() - have,
                                                       buffer->data() + have));
      if (more != buffer->size() - have) return Err(damaged("short read"));
    }
    if (header->next_offset() > from) {
      spans.emplace_back(p, header->length);
      if (p + header->length >= max_bytes + (spans.front().first)) {
        expected = header->next_offset();
        p += header->length;
        break;
      }
    }
    expected = header->next_offset();
    p += header->length;
  }
  result.buffer = buffer;
  for (const auto& [at, len] : spans) {
    auto view = BatchView::Parse(std::string_view(buffer->data() + at, len));
    if (!view.has_value()) {
      const Offset base(static_cast<int64_t>(coding::DecodeFixed64(buffer->data() + at)));
      if (!result.batches.empty()) {
        // Return the intact batches before it; the next read starts at the damaged one.
        result.next_offset = base;
        return result;
      }
      p = at;
      expected = base;
      return Err(damaged(view.error().message()));
    }
    result.batches.push_back(*view);
  }
  result.next_offset = expected;
  return result;
}

const LossEvent* PartitionLog::SkippedRangeAt(Offset offset) const {
  for (const LossEvent& e : losses_) {
    if (e.Skips(offset)) return &e;
  }
  return nullptr;
}

bool PartitionLog::SkippedBetween(Offset end, Offset base) const {
  for (const LossEvent& e : losses_) {
    if (e.kind == LossKind::kSkipped && e.first == end && e.last + 1 == base) return true;
  }
  return false;
}

Result<int> PartitionLog::EnforceRetention(int64_t now_ms) {
  if (options_.read_only) return 0;
  std::lock_guard lock(mu_);
  return EnforceRetentionLocked(now_ms);
}

int PartitionLog::EnforceRetentionLocked(int64_t now_ms) {
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->data_end();
  int deleted = 0;
  while (segments_.size() > 1) {
    const std::shared_ptr<Segment>& s = segments_.front();
    const bool by_size = options_.retention_bytes >= 0 &&
                         total - s->data_end() >= static_cast<uint64_t>(options_.retention_bytes);
    const bool by_age =
        options_.retention_ms >= 0 && s->max_timestamp() < now_ms - options_.retention_ms;
    if (!by_size && !by_age) break;
    total -= s->data_end();
    // Readers holding the segment keep their descriptor; the files go now. A failed unlink
    // leaves a file that the next open removes or re-adopts; the data is gone from the log.
    s->Remove().IgnoreError();
    segments_.erase(segments_.begin());
    ++deleted;
  }
  return deleted;
}

Offset PartitionLog::earliest_offset() const {
  std::lock_guard lock(mu_);
  return segments_.empty() ? Offset(0) : segments_.front()->base_offset();
}

Offset PartitionLog::end_offset() const {
  std::lock_guard lock(mu_);
  return segments_.empty() ? Offset(0) : segments_.back()->next_offset();
}

uint64_t PartitionLog::size_bytes() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->data_end();
  return total;
}

size_t PartitionLog::segment_count() const {
  std::lock_guard lock(mu_);
  return segments_.size();
}

}  // namespace onceflow::log
