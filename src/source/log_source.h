// LogSource: a topic of the embedded log as a pipeline source. The topic is opened read-only,
// so producers (onceflow produce, receivers) append from other processes while it runs.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "log/append_watch.h"
#include "log/loss_record.h"
#include "log/topic.h"
#include "source/source.h"

namespace onceflow::source {

class LogSource : public Source {
 public:
  // Opens `topic` under `data_dir` read-only. not_found names the topic and directory.
  static Result<std::unique_ptr<LogSource>> Open(const std::string& data_dir,
                                                 const std::string& topic);

  Result<Bounds> OffsetBounds() override;
  // Offsets recorded as lost by `onceflow topics repair --skip-damaged` are skipped (the same
  // way on every read of the range, so a re-run batch reads identically) and reported once per
  // process through log::ReportLoss: one loud line naming the topic, partition and offsets.
  Status Read(PartitionId partition, Offset from, Offset until, const RecordFn& fn) override;
  // Sleeps on an AppendWatch of the partition directories (inotify): an append by any process
  // wakes it within a scheduling delay, and an idle pipeline costs no CPU. Without inotify it
  // polls the partitions' ends every 1 ms.
  void WaitForData(const std::vector<Offset>& positions,
                   std::chrono::milliseconds timeout) override;
  Result<SourceIdentity> Identity() override {
    return SourceIdentity{"log", topic_->name(), topic_->id()};
  }
  // The partition's recorded losses as of now (its LOSSES file, read afresh): torn tails a
  // writer cut (their offsets were handed out again) and ranges skipped by `topics repair`.
  // For a caller that committed offsets of this partition before: a torn tail whose first
  // offset is below a committed offset means committed records were lost or rewritten.
  Result<std::vector<log::LossEvent>> Losses(PartitionId partition) const;

  std::string Describe() const override { return "log topic '" + topic_->name() + "'"; }

 private:
  explicit LogSource(std::unique_ptr<log::Topic> topic) : topic_(std::move(topic)) {}
  // Reports a skipped range the first time this source reads across it.
  void ReportSkipped(const log::LossEvent& lost);

  std::unique_ptr<log::Topic> topic_;
  std::once_flag watch_once_;
  std::unique_ptr<log::AppendWatch> watch_;  // made by the first WaitForData
  std::mutex reported_mu_;
  std::set<std::pair<std::string, int64_t>> reported_;  // (partition dir, first offset)
};

}  // namespace onceflow::source
