// LogSource: a topic of the embedded log as a pipeline source. The topic is opened read-only,
// so producers (onceflow produce, receivers) append from other processes while it runs.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "log/topic.h"
#include "source/source.h"

namespace onceflow::source {

class LogSource : public Source {
 public:
  // Opens `topic` under `data_dir` read-only. not_found names the topic and directory.
  static Result<std::unique_ptr<LogSource>> Open(const std::string& data_dir,
                                                 const std::string& topic);

  Result<Bounds> OffsetBounds() override;
  Status Read(PartitionId partition, Offset from, Offset until, const RecordFn& fn) override;
  void WaitForData(const std::vector<Offset>& positions,
                   std::chrono::milliseconds timeout) override;
  Result<SourceIdentity> Identity() override {
    return SourceIdentity{"log", topic_->name(), topic_->id()};
  }
  std::string Describe() const override { return "log topic '" + topic_->name() + "'"; }

 private:
  explicit LogSource(std::unique_ptr<log::Topic> topic) : topic_(std::move(topic)) {}
  // Refreshes every partition from disk and returns its earliest or end offset.

  std::unique_ptr<log::Topic> topic_;
};

}  // namespace onceflow::source
