// Checkpoint: offsets and commits logs, epoch, lock, version.
#include "checkpoint/checkpoint.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "log/partition_reader.h"
#include "util/check.h"
#include "util/file.h"

namespace onceflow::checkpoint {
namespace {

// Small segments and a little retention: the logs stay around a megabyte however long the
// pipeline runs, and recovery reads one record from each.
log::LogOptions CheckpointLogOptions(bool read_only) {
  log::LogOptions o;
  o.segment_bytes = 256u << 10;
  o.retention_bytes = 512u << 10;
  o.index_interval_bytes = 4096;
  o.preallocate = true;
  o.read_only = read_only;
  return o;
}

// The value of the last record of a log, or nullopt if it is empty.
Result<std::optional<std::string>> LastRecord(const log::PartitionLog& log) {
  const Offset end = log.end_offset();
  if (end == log.earliest_offset()) return std::optional<std::string>();
  log::PartitionReader reader(&log, end - 1, 4096);
  RecordView r;
  Offset o;
  ONCEFLOW_ASSIGN_OR_RETURN(bool found, reader.Next(&r, &o));
  if (!found) return Err(Status::Corruption("last record of " + log.dir() + " is unreadable"));
  return std::optional<std::string>(std::string(r.value));
}

Result<int64_t> ParseNumber(std::string_view text, const std::string& path) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Err(Status::Corruption(path + ": not a number: '" + std::string(text) + "'"));
  }
  return v;
}

Status CheckMeta(const std::string& dir, bool read_only) {
  const std::string path = JoinPath(dir, "checkpoint.meta");
  auto text = ReadFileToString(path);
  if (!text.has_value()) {
    if (!text.error().IsNotFound() || read_only) return text.error();
    return WriteFileAtomically(
        path, "format_version=" + std::to_string(Checkpoint::kFormatVersion) + "\n");
  }
  std::string_view t = *text;
  constexpr std::string_view kKey = "format_version=";
  if (!t.starts_with(kKey)) return Status::Corruption(path + ": expected format_version=N");
  ONCEFLOW_ASSIGN_OR_RETURN(int64_t version, ParseNumber(t.substr(kKey.size()), path));
  if (version != Checkpoint::kFormatVersion) {
    return Status::InvalidArgument("checkpoint " + dir + " has format version " +
                                   std::to_string(version) + "; this onceflow reads version " +
                                   std::to_string(Checkpoint::kFormatVersion) +
                                   " and will not touch it (was it written by a newer onceflow?)");
  }
  return Status::Ok();
}

}  // namespace

std::string CheckpointDir(const std::string& data_dir, const std::string& pipeline) {
  return JoinPath(JoinPath(data_dir, "pipelines"), pipeline);
}

Checkpoint::~Checkpoint() {
  offsets_.reset();
  commits_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& dir) {
  std::unique_ptr<Checkpoint> cp(new Checkpoint(dir));
  ONCEFLOW_RETURN_IF_ERROR(CreateDirs(dir));
  ONCEFLOW_RETURN_IF_ERROR(CheckMeta(dir, false));
  const std::string lock_path = JoinPath(dir, "LOCK");
  cp->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (cp->lock_fd_ < 0) return Err(ErrnoStatus("open", lock_path, errno));
  if (::flock(cp->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Err(Status::Busy("pipeline checkpoint " + dir +
                            " is in use by another running onceflow process"));
  }
  // A new epoch for this driver: every commit it makes carries it, and a sink refuses commits
  // of an older epoch, so a zombie of a previous run cannot write.
  const std::string epoch_path = JoinPath(dir, "epoch");
  int64_t epoch = 0;
  if (auto text = ReadFileToString(epoch_path); text.has_value()) {
    ONCEFLOW_ASSIGN_OR_RETURN(epoch, ParseNumber(*text, epoch_path));
  } else if (!text.error().IsNotFound()) {
    return Err(text.error());
  }
  ++epoch;
  ONCEFLOW_RETURN_IF_ERROR(WriteFileAtomically(epoch_path, std::to_string(epoch) + "\n"));
  cp->epoch_ = Epoch(epoch);
  ONCEFLOW_RETURN_IF_ERROR(cp->Load(false));
  return cp;
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::OpenReadOnly(const std::string& dir) {
  if (!PathExists(dir)) return Err(Status::NotFound("no checkpoint at " + dir));
  std::unique_ptr<Checkpoint> cp(new Checkpoint(dir));
  ONCEFLOW_RETURN_IF_ERROR(CheckMeta(dir, true));
  const std::string epoch_path = JoinPath(dir, "epoch");
  if (auto text = ReadFileToString(epoch_path); text.has_value()) {
    ONCEFLOW_ASSIGN_OR_RETURN(int64_t epoch, ParseNumber(*text, epoch_path));
    cp->epoch_ = Epoch(epoch);
  }
  ONCEFLOW_RETURN_IF_ERROR(cp->Load(true));
  return cp;
}

Status Checkpoint::Load(bool read_only) {
  read_only_ = read_only;
  ONCEFLOW_ASSIGN_OR_RETURN(offsets_, log::PartitionLog::Open(JoinPath(dir_, "offsets"),
                                                              CheckpointLogOptions(read_only)));
  ONCEFLOW_ASSIGN_OR_RETURN(commits_, log::PartitionLog::Open(JoinPath(dir_, "commits"),
                                                              CheckpointLogOptions(read_only)));
  // The commits log first: an intent is always written before its commit, so a reader racing
  // a running driver sees at least the intent of the commit it read.
  ONCEFLOW_ASSIGN_OR_RETURN(auto commit, LastRecord(*commits_));
  if (commit) {
    auto decoded = DecodeCommitRecord(*commit);
    if (!decoded.has_value()) return decoded.error().WithContext("commits log of " + dir_);
    last_commit_ = decoded->batch;
    marks_ = std::move(decoded->marks);
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto intent, LastRecord(*offsets_));
  if (intent) {
    auto decoded = DecodeIntent(*intent);
    if (!decoded.has_value()) return decoded.error().WithContext("offsets log of " + dir_);
    last_intent_ = std::move(*decoded);
  }
  const std::string source_path = JoinPath(dir_, "source.meta");
  if (auto text = ReadFileToString(source_path); text.has_value()) {
    ONCEFLOW_ASSIGN_OR_RETURN(SourceRecord source, DecodeSourceRecord(*text, source_path));
    source_ = std::move(source);
  } else if (!text.error().IsNotFound()) {
    return text.error();
  }
  if (last_commit_ && (!last_intent_ || *last_commit_ > last_intent_->batch)) {
    return Status::Corruption(
        "checkpoint " + dir_ + ": batch " + last_commit_->ToString() +
        " is committed but has no intent: its offsets log " + offsets_->dir() +
        (last_intent_ ? " ends at batch " + last_intent_->batch.ToString() : " is empty") +
        " (damaged or truncated)");
  }
  return Status::Ok();
}

Status Checkpoint::WriteIntent(const BatchIntent& intent) {
  ONCEFLOW_CHECK(!read_only_) << dir_ << ": intent written through a read-only checkpoint";
  // A batch id is never reused once committed: its ranges and its fencing would be replayed.
  ONCEFLOW_CHECK(!last_commit_ || intent.batch > *last_commit_)
      << dir_ << ": intent of batch " << intent.batch.value() << " after the commit of batch "
      << last_commit_->value();
  RecordView r;
  const std::string value = EncodeIntent(intent);
  r.value = value;
  r.timestamp_ms = intent.batch_time_ms;
  auto off = offsets_->Append(std::span<const RecordView>(&r, 1));
  if (!off.has_value()) return off.error();
  last_intent_ = intent;
  return Status::Ok();
}

Status Checkpoint::WriteCommit(BatchId batch, std::span<const PartitionMark> marks) {
  ONCEFLOW_CHECK(!read_only_) << dir_ << ": commit written through a read-only checkpoint";
  // A batch committed twice, or out of order, would make recovery skip or replay batches.
  ONCEFLOW_CHECK(!last_commit_ || batch > *last_commit_)
      << dir_ << ": commit of batch " << batch.value() << " after the commit of batch "
      << last_commit_->value();
  std::vector<PartitionMark> merged = marks_;
  for (const PartitionMark& m : marks) {
    auto it =
        std::lower_bound(merged.begin(), merged.end(), m.partition,
                         [](const PartitionMark& a, PartitionId p) { return a.partition < p; });
    if (it != merged.end() && it->partition == m.partition) {
      *it = m;
    } else {
      merged.insert(it, m);
    }
  }
  RecordView r;
  const std::string value = EncodeCommit(batch, merged);
  r.value = value;
  r.timestamp_ms = last_intent_ ? last_intent_->batch_time_ms : 0;
  auto off = commits_->Append(std::span<const RecordView>(&r, 1));
  if (!off.has_value()) return off.error();
  last_commit_ = batch;
  marks_ = std::move(merged);
  return Status::Ok();
}

Status Checkpoint::WriteSource(const SourceRecord& source) {
  ONCEFLOW_CHECK(!read_only_) << dir_ << ": source.meta written through a read-only checkpoint";
  ONCEFLOW_RETURN_IF_ERROR(
      WriteFileAtomically(JoinPath(dir_, "source.meta"), EncodeSourceRecord(source)));
  source_ = source;
  return Status::Ok();
}

Status Checkpoint::RaiseEpochAbove(Epoch seen) {
  ONCEFLOW_CHECK(!read_only_) << dir_ << ": epoch raised through a read-only checkpoint";
  if (epoch_ > seen) return Status::Ok();
  epoch_ = Epoch(seen.value() + 1);
  return WriteFileAtomically(JoinPath(dir_, "epoch"), std::to_string(epoch_.value()) + "\n");
}

uint64_t Checkpoint::size_bytes() const { return offsets_->size_bytes() + commits_->size_bytes(); }

}  // namespace onceflow::checkpoint
