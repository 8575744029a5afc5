// LogSource over the embedded log.
#include "source/log_source.h"

#include <algorithm>

#include "log/partition_reader.h"

namespace onceflow::source {

Result<std::unique_ptr<LogSource>> LogSource::Open(const std::string& data_dir,
                                                   const std::string& topic) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto t, log::Topic::Open(data_dir, topic, /*read_only=*/true));
  return std::unique_ptr<LogSource>(new LogSource(std::move(t)));
}

Result<Source::Bounds> LogSource::OffsetBounds() {
  Bounds b;
  for (int32_t p = 0; p < topic_->partition_count(); ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, topic_->partition(PartitionId(p)));
    ONCEFLOW_RETURN_IF_ERROR(log->Refresh());
    b.earliest.push_back(log->earliest_offset());
    b.end.push_back(log->end_offset());
  }
  return b;
}

Status LogSource::Read(PartitionId partition, Offset from, Offset until, const RecordFn& fn) {
  ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, topic_->partition(partition));
  if (log->end_offset() < until) ONCEFLOW_RETURN_IF_ERROR(log->Refresh());
  log::PartitionReader reader(log, from, 1u << 20);
  RecordView r;
  Offset o;
  Offset expected = from;
  // Jumps `expected` over a range recorded as lost that starts there, reporting it.
  auto skip_lost = [&]() {
    for (const log::LossEvent& lost : reader.skipped()) {
      if (lost.first <= expected && expected <= lost.last) {
        ReportSkipped(lost);
        expected = lost.last + 1;
        return true;
      }
    }
    return false;
  };
  while (expected < until) {
    ONCEFLOW_ASSIGN_OR_RETURN(bool more, reader.Next(&r, &o));
    while (expected < until && (!more || o != expected) && skip_lost()) {
    }
    if (expected >= until) break;
    if (!more) {
      return Status::OutOfRange("topic '" + topic_->name() + "' partition " + partition.ToString() +
                                " ends at offset " + expected.ToString() +
                                ", before the batch's range end " + until.ToString());
    }
    if (o != expected) {
      return Status::Corruption("topic '" + topic_->name() + "' partition " + partition.ToString() +
                                ": offset " + o.ToString() + " where " + expected.ToString() +
                                " was expected");
    }
    ONCEFLOW_RETURN_IF_ERROR(fn(o, r));
    expected = o + 1;
  }
  return Status::Ok();
}

Result<std::vector<log::LossEvent>> LogSource::Losses(PartitionId partition) const {
  ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, topic_->partition(partition));
  return log::ReadLosses(log->dir());
}

void LogSource::ReportSkipped(const log::LossEvent& lost) {
  {
    std::lock_guard lock(reported_mu_);
    if (!reported_.emplace(lost.partition_dir, lost.first.value()).second) return;
  }
  log::ReportLoss(lost);
}

void LogSource::WaitForData(const std::vector<Offset>& positions,
                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Another process appends, so there is nothing to wait on in-process: the watch wakes this
  // thread when a partition's files change. It is made before the first look, and it keeps
  // the changes between a look and the wait, so an append is never slept through.
  std::call_once(watch_once_, [this] {
    std::vector<std::string> dirs;
    for (int32_t p = 0; p < topic_->partition_count(); ++p) {
      if (auto log = topic_->partition(PartitionId(p)); log.has_value()) {
        dirs.push_back((*log)->dir());
      }
    }
    watch_ = std::make_unique<log::AppendWatch>(dirs);
  });
  while (true) {
    for (int32_t p = 0; p < topic_->partition_count(); ++p) {
      auto log = topic_->partition(PartitionId(p));
      if (!log.has_value()) continue;
      (*log)->Refresh().IgnoreError();  // a failed look is retried at the next one
      const Offset at = static_cast<size_t>(p) < positions.size() ? positions[p] : Offset(0);
      if ((*log)->end_offset() > at) return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return;
    watch_->Wait(std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
  }
}

}  // namespace onceflow::source
