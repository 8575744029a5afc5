// ProducerState: the idempotent-producer table of one partition — per producer id, the last
// sequence stored and the offsets of its most recent requests — rebuilt from the log itself.
//
// Durability: the table is never the source of truth. Every batch a producer appends carries
// its producer id and first sequence in headers of the batch's first record (kProducerIdHeader,
// kSequenceHeader), so the (producer, sequence) is durable atomically with the records: a batch
// is in the log entirely or not at all. On start the table is rebuilt by loading the last
// snapshot (an optimisation) and scanning the log from the offset the snapshot covers.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "log/partition_log.h"
#include "onceflow/ids.h"
#include "onceflow/record.h"
#include "onceflow/status.h"

namespace onceflow::receiver {

// Record headers on the first record of every batch a producer with an id appended.
inline constexpr std::string_view kProducerIdHeader = "onceflow.producer_id";
inline constexpr std::string_view kSequenceHeader = "onceflow.sequence";
// Requests whose offsets a repeat can be answered with, per producer and partition (Kafka: 5).
inline constexpr size_t kRetainedRequests = 5;
// A producer id is 1-64 characters of [A-Za-z0-9._:-].
inline constexpr size_t kMaxProducerIdBytes = 64;

Status ValidateProducerId(std::string_view id);

// One stored request of a producer: sequences [first_sequence, first_sequence + count).
struct StoredRequest {
  int64_t first_sequence = 0;
  uint32_t count = 0;
  Offset base_offset;
  int64_t last_sequence() const { return first_sequence + count - 1; }
};

// What to do with a request of (producer, first sequence, count).
struct SequenceCheck {
  enum class Verdict { kAppend, kDuplicate, kReject };
  Verdict verdict = Verdict::kAppend;
  StoredRequest original;  // kDuplicate: the request that stored these sequences
  std::string error;       // kReject: why, for the client
};

// Not thread-safe: the Ingestor guards each partition's table with that partition's mutex.
class ProducerState {
 public:
  struct Producer {
    std::deque<StoredRequest> recent;  // oldest first, at most kRetainedRequests, never empty
    int64_t last_append_ms = 0;        // wall clock of its last append: drives expiry
  };

  // Rules: an unknown producer must start at sequence 0; a known one continues at last + 1; a
  // request equal to one of its kRetainedRequests most recent ones is a duplicate; anything
  // else (a gap, a partial overlap, an older request) is rejected with a clear message.
  SequenceCheck Check(std::string_view producer_id, int64_t first_sequence, uint32_t count) const;

  // Records an appended request. Idempotent: a request at or below the producer's last
  // sequence is ignored (a log scan may replay batches the snapshot already holds).
  void OnAppended(std::string_view producer_id, const StoredRequest& request, int64_t now_ms);

  // Forgets producers idle for more than expiry_ms (< 0: never). Returns how many.
  size_t ExpireIdle(int64_t now_ms, int64_t expiry_ms);

  // Applies the producer headers of every batch of `log` in [from, end). Returns the end.
  Result<Offset> ScanLog(const log::PartitionLog& log, Offset from);

  // Snapshot file: text, see docs/formats/receiver_tcp.md ("Producer state"). `covered` is
  // the offset below which every producer batch is reflected in the table.
  std::string EncodeSnapshot(Offset covered) const;
  // Returns the covered offset. A damaged snapshot is a corruption error naming `path`.
  Result<Offset> DecodeSnapshot(std::string_view text, const std::string& path);

  size_t size() const { return producers_.size(); }
  const Producer* Find(std::string_view producer_id) const;

 private:
  std::unordered_map<std::string, Producer> producers_;
};

// Loads `snapshot_path` (if present and sound) and scans the log from the offset it covers
// (from the log's earliest offset without one), then expires idle producers. A damaged or
// stale snapshot (covering more than the log holds) is ignored: the full scan is the truth.
Result<ProducerState> RecoverProducerState(const log::PartitionLog& log,
                                           const std::string& snapshot_path, int64_t now_ms,
                                           int64_t expiry_ms);

}  // namespace onceflow::receiver
