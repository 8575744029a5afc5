// Producer: batching, round robin and the appender pool.
#include "log/producer.h"

#include <algorithm>
#include <utility>

#include "util/check.h"

namespace onceflow::log {

Producer::Producer(Topic* topic, const ProducerOptions& options)
    : topic_(topic), options_(options) {}

Result<std::unique_ptr<Producer>> Producer::Create(Topic* topic, const ProducerOptions& options) {
  if (options.batch_bytes == 0 || options.batch_records == 0 || options.growth_factor == 0 ||
      options.max_in_flight < 1) {
    return Err(
        Status::InvalidArgument("producer batch limits and in-flight count must be positive"));
  }
  std::unique_ptr<Producer> producer(new Producer(topic, options));
  for (int32_t p = 0; p < topic->partition_count(); ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(PartitionLog * log, topic->partition(PartitionId(p)));
    auto partition = std::make_unique<Partition>();
    partition->log = log;
    producer->partitions_.push_back(std::move(partition));
  }
  const int threads = std::min(options.max_in_flight, topic->partition_count());
  for (int i = 0; i < threads; ++i) {
    producer->appenders_.emplace_back([p = producer.get()] { p->AppendLoop(); });
  }
  return producer;
}

Producer::~Producer() {
  // A producer destroyed without Close (an early error return) still must not leave threads
  // running; its status was already reported or is moot.
  Close().IgnoreError();
}

Status Producer::Add(const RecordView& record, PartitionId* partition) {
  // After Close the appenders are gone: the record would sit in a batch nobody appends, lost
  // without an error.
  ONCEFLOW_CHECK(!closed_) << "record added to a closed producer";
  if (failed_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(mu_);
    return status_;
  }
  const int32_t p = record.key ? topic_->PartitionForKey(*record.key).value() : sticky_;
  if (partition != nullptr) *partition = PartitionId(p);
  Partition& part = *partitions_[static_cast<size_t>(p)];
  part.builder.Add(record);
  ++records_added_;
  const size_t bytes = part.builder.size_bytes();
  const uint32_t count = part.builder.count();
  if (bytes < options_.batch_bytes && count < options_.batch_records) return Status::Ok();

  // The batch is full. Hand it over now if the partition is idle (or the batch is as large as
  // it may grow); otherwise let it grow while the previous append completes.
  const bool at_cap = bytes >= options_.batch_bytes * options_.growth_factor ||
                      count >= options_.batch_records * options_.growth_factor;
  if (!record.key) sticky_ = (sticky_ + 1) % topic_->partition_count();
  if (at_cap || !part.busy.load(std::memory_order_relaxed)) return Seal(p);
  return Status::Ok();
}

Status Producer::Flush() {
  for (size_t p = 0; p < partitions_.size(); ++p) {
    if (!partitions_[p]->builder.empty()) ONCEFLOW_RETURN_IF_ERROR(Seal(static_cast<int32_t>(p)));
  }
  return Status::Ok();
}

Status Producer::Seal(int32_t p) {
  Partition& part = *partitions_[static_cast<size_t>(p)];
  SealedBatch batch;
  batch.records = part.builder.count();
  batch.bytes = part.builder.Finish();
  const size_t size = batch.bytes.size();
  std::unique_lock lock(mu_);
  // Backpressure: the producing thread waits rather than buffering without bound. A batch is
  // always accepted into an empty queue, so a batch larger than the limit cannot deadlock.
  space_cv_.wait(lock, [&] {
    return !status_.ok() || queued_bytes_ == 0 || queued_bytes_ + size <= options_.max_queued_bytes;
  });
  if (!status_.ok()) return status_;
  part.queue.push_back(std::move(batch));
  queued_bytes_ += size;
  part.busy.store(true, std::memory_order_relaxed);
  if (!part.in_flight && part.queue.size() == 1) {
    ready_.push_back(p);
    work_cv_.notify_one();
  }
  return Status::Ok();
}

void Producer::AppendLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return !ready_.empty() || closing_; });
    // Exit only with nothing ready: a partition still in flight is requeued by the thread
    // appending it, which is alive to take it.
    if (ready_.empty()) return;
    const int32_t p = ready_.front();
    ready_.pop_front();
    Partition& part = *partitions_[static_cast<size_t>(p)];
    SealedBatch batch = std::move(part.queue.front());
    part.queue.pop_front();
    part.in_flight = true;
    const size_t size = batch.bytes.size();
    Status s = status_;
    if (s.ok()) {
      lock.unlock();
      auto appended = part.log->Append(std::move(batch.bytes));
      lock.lock();
      if (!appended.has_value()) {
        s = appended.error().WithContext("appending to partition " + std::to_string(p) +
                                         " of topic '" + topic_->name() + "'");
      }
    }
    part.in_flight = false;
    queued_bytes_ -= size;
    if (s.ok()) {
      records_durable_ += batch.records;
      bytes_durable_ += size;
    } else if (status_.ok()) {
      status_ = s;
      failed_.store(true, std::memory_order_relaxed);
    }
    if (!part.queue.empty()) {
      ready_.push_back(p);
      work_cv_.notify_one();
    } else {
      part.busy.store(false, std::memory_order_relaxed);
    }
    space_cv_.notify_all();
  }
}

Status Producer::Close() {
  if (closed_) {
    std::lock_guard lock(mu_);
    return status_;
  }
  closed_ = true;
  Status flushed = Flush();
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : appenders_) t.join();
  appenders_.clear();
  std::lock_guard lock(mu_);
  if (!status_.ok()) return status_;
  return flushed;
}

uint64_t Producer::records_durable() const {
  std::lock_guard lock(mu_);
  return records_durable_;
}

uint64_t Producer::bytes_durable() const {
  std::lock_guard lock(mu_);
  return bytes_durable_;
}

}  // namespace onceflow::log
