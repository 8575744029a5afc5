// onceflow::Topic over log::Topic.
#include "onceflow/topic.h"

#include <utility>

#include "api/topic_rep.h"
#include "log/partition_reader.h"

namespace onceflow {

Topic::Topic(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Topic::~Topic() = default;

Result<std::unique_ptr<Topic>> Topic::Create(const std::string& data_dir, const std::string& name,
                                             const TopicOptions& options) {
  log::TopicConfig config;
  config.partitions = options.partitions;
  auto rep = std::make_unique<Rep>();
  ONCEFLOW_ASSIGN_OR_RETURN(rep->topic, log::Topic::Create(data_dir, name, config));
  return std::unique_ptr<Topic>(new Topic(std::move(rep)));
}

Result<std::unique_ptr<Topic>> Topic::Open(const std::string& data_dir, const std::string& name,
                                           bool read_only) {
  auto rep = std::make_unique<Rep>();
  rep->read_only = read_only;
  ONCEFLOW_ASSIGN_OR_RETURN(rep->topic, log::Topic::Open(data_dir, name, read_only));
  return std::unique_ptr<Topic>(new Topic(std::move(rep)));
}

const std::string& Topic::name() const { return rep_->topic->name(); }

int32_t Topic::partition_count() const { return rep_->topic->partition_count(); }

PartitionId Topic::PartitionForKey(std::string_view key) const {
  return rep_->topic->PartitionForKey(key);
}

namespace {

// The partition's log, with what another process appended picked up (read-only topics).
Result<log::PartitionLog*> FreshPartition(const log::Topic& topic, bool read_only,
                                          PartitionId partition) {
  ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log, topic.partition(partition));
  if (read_only) ONCEFLOW_RETURN_IF_ERROR(log->Refresh());
  return log;
}

}  // namespace

Result<Offset> Topic::EarliestOffset(PartitionId partition) const {
  ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log,
                            FreshPartition(*rep_->topic, rep_->read_only, partition));
  return log->earliest_offset();
}

Result<Offset> Topic::EndOffset(PartitionId partition) const {
  ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log,
                            FreshPartition(*rep_->topic, rep_->read_only, partition));
  return log->end_offset();
}

Result<std::vector<Record>> Topic::Read(PartitionId partition, Offset from,
                                        size_t max_records) const {
  ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * log,
                            FreshPartition(*rep_->topic, rep_->read_only, partition));
  std::vector<Record> out;
  log::PartitionReader reader(log, from);
  while (out.size() < max_records) {
    RecordView view;
    Offset offset;
    ONCEFLOW_ASSIGN_OR_RETURN(bool more, reader.Next(&view, &offset));
    if (!more) break;
    Record r;
    if (view.key) r.key = std::string(*view.key);
    r.value = std::string(view.value);
    r.timestamp_ms = view.timestamp_ms;
    for (const HeaderView& h : view.headers) {
      r.headers.push_back({std::string(h.key), std::string(h.value)});
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace onceflow
