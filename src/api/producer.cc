// onceflow::Producer over log::Producer.
#include "onceflow/producer.h"

#include <chrono>
#include <utility>

#include "api/topic_rep.h"
#include "log/producer.h"
#include "onceflow/topic.h"

namespace onceflow {

Producer::Producer(std::unique_ptr<log::Producer> impl) : impl_(std::move(impl)) {}
Producer::~Producer() = default;  // log::Producer's destructor closes

Result<std::unique_ptr<Producer>> Producer::Create(Topic* topic, const ProducerOptions& options) {
  if (topic->rep_->read_only) {
    return Err(
        Status::InvalidArgument("producer: topic '" + topic->name() + "' is opened read-only"));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto impl, log::Producer::Create(topic->rep_->topic.get(), options));
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Result<PartitionId> Producer::Send(std::optional<std::string_view> key, std::string_view value,
                                   int64_t timestamp_ms) {
  RecordView record;
  record.key = key;
  record.value = value;
  record.timestamp_ms = timestamp_ms;
  return Send(record);
}

Result<PartitionId> Producer::Send(const RecordView& record) {
  RecordView r = record;
  if (r.timestamp_ms == 0) {
    r.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  }
  PartitionId partition;
  ONCEFLOW_RETURN_IF_ERROR(impl_->Add(r, &partition));
  return partition;
}

Status Producer::Flush() { return impl_->Flush(); }

Status Producer::Close() { return impl_->Close(); }

uint64_t Producer::records_sent() const { return impl_->records_added(); }

uint64_t Producer::records_durable() const { return impl_->records_durable(); }

}  // namespace onceflow
