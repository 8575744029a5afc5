// Ingestor: the path from a receiver request into the embedded log. Checks the request, admits
// it against the in-flight byte budget, de-duplicates by (producer id, sequence), appends one
// batch and answers once the group commit's fdatasync covers it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "log/topic.h"
#include "onceflow/ids.h"
#include "onceflow/status.h"
#include "receiver/metrics.h"
#include "receiver/producer_state.h"

namespace onceflow::receiver {

struct IngestOptions {
  std::string data_dir;
  // Request bytes admitted and not yet answered, over all connections. A request that would
  // exceed it is refused with 503 and Retry-After instead of being queued.
  uint64_t max_in_flight_bytes = 64u << 20;
  // Limits of one request (HTTP body or TCP frame): bytes and records.
  uint64_t max_request_bytes = 16u << 20;
  uint32_t max_request_records = 100000;
  // A producer idle this long is forgotten (Kafka's producer.id.expiration.ms, 1 day). < 0: never.
  int64_t producer_expiry_ms = 24 * 3600 * 1000;
  // How often the producer tables are snapshotted (they are also at Close).
  int64_t snapshot_interval_ms = 30000;
};

struct IngestRequest {
  std::string_view topic;
  std::string_view producer_id;      // empty: no idempotence, the records are just appended
  std::optional<int64_t> sequence;   // of the first record; required with a producer id
  std::optional<int32_t> partition;  // none: murmur2(producer id), or round robin without one
  std::vector<std::string_view> values;
};

struct IngestResponse {
  int status = 200;   // an HTTP status code; the TCP acknowledgement carries the same number
  std::string error;  // when status != 200, for the client
  RejectReason reason = RejectReason::kBadRequest;
  int retry_after_s = 0;  // with 503 and 507
  int32_t partition = -1;
  Offset base_offset;
  uint32_t count = 0;
  bool duplicate = false;  // a repeat of a stored request: nothing was stored
};

// The response for a refused request (and counts it in the metrics if `metrics` is set).
IngestResponse Reject(int status, RejectReason reason, std::string error);

// Lifecycle: Open opens (and locks) every topic of the data directory and recovers each
// partition's producer table; topics created later are opened on their first request. Close
// stops the snapshot thread and snapshots every table; call it once no Ingest runs.
//
// Thread-safety: Ingest may run on any number of threads. Requests of one (producer,
// partition) are serialised in arrival order: a second request waits until the first is
// durable (or failed), then is checked against the updated table, so a retry racing its own
// original is answered as a duplicate and an out-of-order request gets a sequence-gap error.
//
// Durability: a 200 response means the batch is durable (fdatasync with the topic's default
// durability; merely written to the OS for a topic created with durability none).
class Ingestor {
 public:
  static Result<std::unique_ptr<Ingestor>> Open(const IngestOptions& options);
  ~Ingestor();

  IngestResponse Ingest(const IngestRequest& request);

  // Writes the snapshot of every partition's producer table whose log moved since the last.
  Status SnapshotAll();
  Status Close();

  ReceiverMetrics& metrics() { return metrics_; }
  const IngestOptions& options() const { return options_; }

  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

 private:
  struct PartitionState {
    log::PartitionLog* log = nullptr;
    std::string snapshot_path;
    std::mutex mu;
    std::condition_variable cv;  // a producer's in-flight request finished
    ProducerState producers;     // guarded by mu
    // Producers with a request between its check and its table update. Guarded by mu.
    std::unordered_set<std::string> in_flight;
    // log end offset when each in-flight idempotent append started: a snapshot may only
    // claim to cover offsets below the smallest. Guarded by mu.
    std::multiset<int64_t> in_flight_starts;
    int64_t snapshot_covered = -1;  // of the last snapshot written; guarded by mu
  };
  struct TopicState {
    std::unique_ptr<log::Topic> topic;
    std::vector<std::unique_ptr<PartitionState>> partitions;
    std::atomic<uint32_t> round_robin{0};
  };

  explicit Ingestor(IngestOptions options) : options_(std::move(options)) {}
  Result<TopicState*> GetTopic(std::string_view name);
  Result<std::unique_ptr<TopicState>> OpenTopic(const std::string& name);
  IngestResponse Append(const IngestRequest& request, TopicState* topic, int32_t partition);
  Status Snapshot(PartitionState* p);
  void SnapshotLoop();

  const IngestOptions options_;
  ReceiverMetrics metrics_;
  std::atomic<uint64_t> in_flight_bytes_{0};

  std::mutex topics_mu_;
  std::map<std::string, std::unique_ptr<TopicState>, std::less<>> topics_;  // guarded

  std::mutex snapshot_mu_;  // serialises snapshot writers
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread snapshot_thread_;
};

// The path of a partition's producer snapshot: <data>/receiver/producers/<topic>/<p>.snapshot.
std::string ProducerSnapshotPath(const std::string& data_dir, std::string_view topic,
                                 int32_t partition);

}  // namespace onceflow::receiver
