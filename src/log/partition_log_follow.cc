// PartitionLog's read-only side: following the appends of the writer in another process, up to
// the durable end it publishes (durable_end.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "log/partition_log.h"
#include "log/segment_name.h"

namespace onceflow::log {

Result<Offset> PartitionLog::PublishedEnd() {
  ONCEFLOW_ASSIGN_OR_RETURN(std::optional<Offset> published, durable_reader_->Read());
  return published.value_or(kNoLimit);
}

Status PartitionLog::ReloadLocked(Offset limit) {
  segments_.clear();
  auto names = ListDir(dir_);
  if (!names.has_value()) return names.error();
  std::vector<Offset> logs;
  for (const std::string& name : *names) {
    auto parsed = ParseSegmentFileName(name);
    if (parsed && parsed->kind == SegmentFileKind::kLog) logs.push_back(parsed->base_offset);
  }
  return LoadSegments(logs, limit);
}

bool PartitionLog::WriterAliveLocked() {
  if (lock_probe_fd_ < 0) {
    lock_probe_fd_ = ::open(JoinPath(dir_, "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
    // No LOCK file: no writer ever opened the partition (one starting now publishes its end
    // before it appends, and whatever is found is synced before it is returned).
    if (lock_probe_fd_ < 0) return false;
  }
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  // Cannot tell: assume a writer, and stay within its published end.
  if (::fcntl(lock_probe_fd_, F_OFD_GETLK, &probe) != 0) return true;
  return probe.l_type != F_UNLCK;
}

Status PartitionLog::SyncFoundLocked(Offset published) {
  if (segments_.empty() || segments_.back()->next_offset() <= std::max(published, synced_end_)) {
    return Status::Ok();
  }
  // Only the last segment can hold unsynced data: a segment is synced when it is sealed, before
  // the next one exists.
  if (Status s = segments_.back()->file().Sync(); !s.ok()) {
    // Nothing past the published end may be returned unsynced.
    ReloadLocked(published).IgnoreError();  // the sync's error is the one to report
    return s.WithContext("syncing what the last writer of " + dir_ + " left");
  }
  synced_end_ = segments_.back()->next_offset();
  return Status::Ok();
}

Offset PartitionLog::WaitForMore(Offset offset, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  auto end = [&] { return segments_.empty() ? Offset(0) : segments_.back()->next_offset(); };
  if (!options_.read_only) {
    data_cv_.wait_until(lock, deadline, [&] { return end() > offset; });
    return end();
  }
  while (true) {
    // A failed refresh (a file mid-roll) is retried at the next poll.
    RefreshLocked().IgnoreError();
    if (end() > offset || std::chrono::steady_clock::now() >= deadline) return end();
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    lock.lock();
  }
}

Status PartitionLog::Refresh() {
  std::lock_guard lock(mu_);
  return RefreshLocked();
}

Status PartitionLog::RefreshLocked() {
  if (!options_.read_only) return Status::Ok();
  const Offset before = segments_.empty() ? Offset(0) : segments_.back()->next_offset();
  auto went_back = [&](Offset now) {
    return Status::Corruption(
        "partition " + dir_ + ": its writer now publishes offset " + now.ToString() +
        " as its durable end, below offset " + before.ToString() +
        " that this reader already saw: records that were read are lost (durability = none "
        "and a machine crash, or a log written without a DURABLE file by an older onceflow)");
  };
  // Read before the files, as in Load.
  ONCEFLOW_ASSIGN_OR_RETURN(const Offset limit, PublishedEnd());
  if (limit != kNoLimit && !WriterAliveLocked()) {
    // No writer: read what the last one left, made durable here (as in Load).
    ONCEFLOW_RETURN_IF_ERROR(RefreshSegmentsLocked(kNoLimit));
    return SyncFoundLocked(std::max(limit, before));
  }
  if (limit < before) return went_back(limit);
  ONCEFLOW_RETURN_IF_ERROR(RefreshSegmentsLocked(limit));
  if (limit != kNoLimit) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(const Offset now, PublishedEnd());
  if (now == kNoLimit) return Status::Ok();
  ONCEFLOW_RETURN_IF_ERROR(ReloadLocked(now));
  if (now < before) return went_back(now);
  return Status::Ok();
}

Status PartitionLog::RefreshSegmentsLocked(Offset limit) {
  if (!segments_.empty()) {
    std::shared_ptr<Segment> last = segments_.back();
    ONCEFLOW_RETURN_IF_ERROR(last->Refresh(limit));
    // A newer segment can only exist once this one is sealed, and sealing writes its index
    // file: one stat instead of listing the directory at every poll.
    const std::string index =
        JoinPath(dir_, MakeSegmentFileName(last->base_offset(), SegmentFileKind::kIndex));
    if (!PathExists(index)) return Status::Ok();
    // Sealed: its data is final, and this scan sees all of it (up to the durable end).
    ONCEFLOW_RETURN_IF_ERROR(last->Refresh(limit));
  }
  auto names = ListDir(dir_);
  if (!names.has_value()) return names.error().IsNotFound() ? Status::Ok() : names.error();
  for (const std::string& name : *names) {
    auto parsed = ParseSegmentFileName(name);
    if (!parsed || parsed->kind != SegmentFileKind::kLog) continue;
    if (!segments_.empty() && parsed->base_offset <= segments_.back()->base_offset()) continue;
    if (parsed->base_offset > limit) break;  // rolled to after the durable end was published
    ONCEFLOW_ASSIGN_OR_RETURN(
        auto seg, Segment::OpenActive(dir_, parsed->base_offset, options_.index_interval_bytes,
                                      RecoveryMode::kReadOnly, limit));
    if (!segments_.empty() && segments_.back()->next_offset() != seg->base_offset() &&
        !SkippedBetween(segments_.back()->next_offset(), seg->base_offset())) {
      return Status::Busy("segment " + seg->path() + " appeared before its predecessor's end");
    }
    segments_.push_back(std::move(seg));
  }
  return Status::Ok();
}

}  // namespace onceflow::log
