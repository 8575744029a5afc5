// The ingest path: admission, de-duplication, one batch per request, durable acknowledgement.
#include "receiver/ingest.h"

#include <chrono>

#include "log/record_batch.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow::receiver {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

IngestResponse Reject(int status, RejectReason reason, std::string error) {
  IngestResponse r;
  r.status = status;
  r.reason = reason;
  r.error = std::move(error);
  return r;
}

std::string ProducerSnapshotPath(const std::string& data_dir, std::string_view topic,
                                 int32_t partition) {
  return JoinPath(JoinPath(JoinPath(JoinPath(data_dir, "receiver"), "producers"), topic),
                  std::to_string(partition) + ".snapshot");
}

Result<std::unique_ptr<Ingestor>> Ingestor::Open(const IngestOptions& options) {
  if (options.max_request_bytes > options.max_in_flight_bytes) {
    return Err(Status::InvalidArgument("the request size limit (" +
                                       std::to_string(options.max_request_bytes) +
                                       " bytes) exceeds the in-flight limit (" +
                                       std::to_string(options.max_in_flight_bytes) + " bytes)"));
  }
  std::unique_ptr<Ingestor> ingestor(new Ingestor(options));
  if (PathExists(JoinPath(options.data_dir, "topics"))) {
    ONCEFLOW_ASSIGN_OR_RETURN(auto names, log::ListTopics(options.data_dir));
    for (const std::string& name : names) {
      ONCEFLOW_ASSIGN_OR_RETURN(auto t, ingestor->OpenTopic(name));
      ingestor->topics_.emplace(name, std::move(t));
    }
  }
  ingestor->snapshot_thread_ = std::thread([p = ingestor.get()] { p->SnapshotLoop(); });
  return ingestor;
}

Ingestor::~Ingestor() { Close().IgnoreError(); }  // errors were reported by an explicit Close

Result<std::unique_ptr<Ingestor::TopicState>> Ingestor::OpenTopic(const std::string& name) {
  auto t = std::make_unique<TopicState>();
  ONCEFLOW_ASSIGN_OR_RETURN(t->topic, log::Topic::Open(options_.data_dir, name));
  const int64_t now = NowMs();
  for (int32_t i = 0; i < t->topic->partition_count(); ++i) {
    auto p = std::make_unique<PartitionState>();
    ONCEFLOW_ASSIGN_OR_RETURN(p->log, t->topic->partition(PartitionId(i)));
    p->snapshot_path = ProducerSnapshotPath(options_.data_dir, name, i);
    auto state = RecoverProducerState(*p->log, p->snapshot_path, now, options_.producer_expiry_ms);
    if (!state.has_value()) {
      return Err(state.error().WithContext("recovering the producer state of topic '" + name +
                                           "' partition " + std::to_string(i)));
    }
    p->producers = std::move(*state);
    t->partitions.push_back(std::move(p));
  }
  return t;
}

Result<Ingestor::TopicState*> Ingestor::GetTopic(std::string_view name) {
  std::lock_guard lock(topics_mu_);
  if (auto it = topics_.find(name); it != topics_.end()) return it->second.get();
  ONCEFLOW_RETURN_IF_ERROR(log::ValidateTopicName(name));
  ONCEFLOW_ASSIGN_OR_RETURN(auto t, OpenTopic(std::string(name)));
  TopicState* raw = t.get();
  topics_.emplace(std::string(name), std::move(t));
  return raw;
}

IngestResponse Ingestor::Ingest(const IngestRequest& request) {
  IngestResponse r = [&]() -> IngestResponse {
    if (request.values.empty()) {
      return Reject(400, RejectReason::kBadRequest, "the request holds no records");
    }
    if (request.values.size() > options_.max_request_records) {
      return Reject(413, RejectReason::kTooLarge,
                    "the request holds " + std::to_string(request.values.size()) +
                        " records; the limit is " + std::to_string(options_.max_request_records));
    }
    if (!request.producer_id.empty()) {
      if (Status s = ValidateProducerId(request.producer_id); !s.ok()) {
        return Reject(400, RejectReason::kBadRequest, s.message());
      }
      if (!request.sequence) {
        return Reject(400, RejectReason::kBadRequest, "a producer id requires a sequence number");
      }
      if (*request.sequence < 0) {
        return Reject(400, RejectReason::kBadRequest, "the sequence number must be >= 0");
      }
    } else if (request.sequence) {
      return Reject(400, RejectReason::kBadRequest, "a sequence number requires a producer id");
    }
    uint64_t bytes = 0;
    for (std::string_view v : request.values) bytes += v.size();
    if (bytes > options_.max_request_bytes) {
      return Reject(413, RejectReason::kTooLarge,
                    "the request holds " + std::to_string(bytes) +
                        " bytes of records; the limit is " +
                        std::to_string(options_.max_request_bytes));
    }
    auto topic = GetTopic(request.topic);
    if (!topic.has_value()) {
      const Status& s = topic.error();
      if (s.IsNotFound()) {
        return Reject(404, RejectReason::kUnknownTopic,
                      "unknown topic '" + std::string(request.topic) +
                          "' (create it with 'onceflow topics create')");
      }
      if (s.IsInvalidArgument()) return Reject(400, RejectReason::kBadRequest, s.message());
      return Reject(500, RejectReason::kInternal, s.ToString());
    }
    TopicState* t = *topic;
    const int32_t n = t->topic->partition_count();
    int32_t partition;
    if (request.partition) {
      if (*request.partition < 0 || *request.partition >= n) {
        return Reject(400, RejectReason::kBadRequest,
                      "partition " + std::to_string(*request.partition) + " out of range: topic '" +
                          std::string(request.topic) + "' has " + std::to_string(n) +
                          " partitions");
      }
      partition = *request.partition;
    } else if (!request.producer_id.empty()) {
      partition = t->topic->PartitionForKey(request.producer_id).value();
    } else {
      partition = static_cast<int32_t>(t->round_robin.fetch_add(1, std::memory_order_relaxed) %
                                       static_cast<uint32_t>(n));
    }
    // Admission: bounded in-flight bytes, never a queue.
    const uint64_t before = in_flight_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    if (before + bytes > options_.max_in_flight_bytes) {
      in_flight_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      IngestResponse busy =
          Reject(503, RejectReason::kOverloaded,
                 "the receiver is at its in-flight limit of " +
                     std::to_string(options_.max_in_flight_bytes) + " bytes; retry later");
      busy.retry_after_s = 1;
      return busy;
    }
    metrics_.AddInFlight(static_cast<int64_t>(bytes));
    IngestResponse appended = Append(request, t, partition);
    in_flight_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    metrics_.AddInFlight(-static_cast<int64_t>(bytes));
    return appended;
  }();
  if (r.status == 200) {
    metrics_.OnAck(r.duplicate);
  } else {
    metrics_.OnRejected(r.reason);
  }
  return r;
}

IngestResponse Ingestor::Append(const IngestRequest& request, TopicState* t, int32_t partition) {
  PartitionState* p = t->partitions[static_cast<size_t>(partition)].get();
  const bool idempotent = !request.producer_id.empty();
  const uint32_t count = static_cast<uint32_t>(request.values.size());
  const std::string producer(request.producer_id);
  int64_t start_end = 0;
  IngestResponse r;
  r.partition = partition;
  r.count = count;
  if (idempotent) {
    std::unique_lock lock(p->mu);
    p->cv.wait(lock, [&] { return !p->in_flight.contains(producer); });
    SequenceCheck check = p->producers.Check(producer, *request.sequence, count);
    if (check.verdict == SequenceCheck::Verdict::kDuplicate) {
      r.base_offset = check.original.base_offset;
      r.duplicate = true;
      return r;
    }
    if (check.verdict == SequenceCheck::Verdict::kReject) {
      return Reject(409, RejectReason::kSequence, std::move(check.error));
    }
    p->in_flight.insert(producer);
    start_end = p->log->end_offset().value();
    p->in_flight_starts.insert(start_end);
  }

  // One batch per request: the producer headers ride on its first record, so they are durable
  // exactly when the records are.
  const int64_t now = NowMs();
  const std::string sequence = idempotent ? std::to_string(*request.sequence) : std::string();
  const HeaderView headers[2] = {{kProducerIdHeader, request.producer_id},
                                 {kSequenceHeader, sequence}};
  log::BatchBuilder builder;
  uint64_t bytes = 0;
  for (size_t i = 0; i < request.values.size(); ++i) {
    RecordView rec;
    rec.value = request.values[i];
    rec.timestamp_ms = now;
    if (i == 0 && idempotent) rec.headers = headers;
    builder.Add(rec);
    bytes += rec.value.size();
  }
  const auto started = std::chrono::steady_clock::now();
  Result<Offset> base = p->log->Append(builder.Finish());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (base.has_value()) {
    metrics_.OnAppended(count, bytes, seconds);
    // Between the durable append and the acknowledgement: a crash here loses the ack, and the
    // client's retry must be recognised from the log.
    faults::Hit("receiver_before_ack").IgnoreError();  // only `crash` and `slow` matter here
  }
  if (idempotent) {
    std::lock_guard lock(p->mu);
    if (base.has_value()) {
      p->producers.OnAppended(producer, StoredRequest{*request.sequence, count, *base}, now);
    }
    p->in_flight.erase(producer);
    p->in_flight_starts.erase(p->in_flight_starts.find(start_end));
    p->cv.notify_all();
  }
  if (!base.has_value()) {
    const std::string what = "appending to topic '" + std::string(request.topic) + "' partition " +
                             std::to_string(partition) + " failed: " + base.error().ToString();
    if (IsDiskFull(base.error()) && base.error().retryable()) {
      // Nothing of the request was stored, and the partition takes appends again once space
      // is freed: the client retries (with its producer id and sequence, exactly once).
      IngestResponse full = Reject(507, RejectReason::kDiskFull, what + "; retry later");
      full.retry_after_s = 1;
      return full;
    }
    return Reject(500, RejectReason::kInternal, what);
  }
  r.base_offset = *base;
  return r;
}

Status Ingestor::Snapshot(PartitionState* p) {
  std::string text;
  {
    std::lock_guard lock(p->mu);
    p->producers.ExpireIdle(NowMs(), options_.producer_expiry_ms);
    int64_t covered = p->log->end_offset().value();
    if (!p->in_flight_starts.empty()) covered = std::min(covered, *p->in_flight_starts.begin());
    if (covered == p->snapshot_covered) return Status::Ok();
    p->snapshot_covered = covered;
    text = p->producers.EncodeSnapshot(Offset(covered));
  }
  ONCEFLOW_RETURN_IF_ERROR(CreateDirs(DirName(p->snapshot_path)));
  return WriteFileAtomically(p->snapshot_path, text);
}

Status Ingestor::SnapshotAll() {
  std::lock_guard snap(snapshot_mu_);
  std::vector<PartitionState*> parts;
  {
    std::lock_guard lock(topics_mu_);
    for (auto& [name, t] : topics_) {
      for (auto& p : t->partitions) parts.push_back(p.get());
    }
  }
  Status first;
  for (PartitionState* p : parts) {
    Status s = Snapshot(p);
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

void Ingestor::SnapshotLoop() {
  std::unique_lock lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::milliseconds(options_.snapshot_interval_ms));
    if (stopping_) break;
    lock.unlock();
    // A failed snapshot costs only a longer scan at the next start; the next interval retries.
    SnapshotAll().IgnoreError();
    lock.lock();
  }
}

Status Ingestor::Close() {
  {
    std::lock_guard lock(stop_mu_);
    if (stopping_) return Status::Ok();
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  return SnapshotAll();
}

}  // namespace onceflow::receiver
