// KafkaSource: a Kafka topic as a pipeline source, in direct mode (Kafka's "direct approach"):
// the engine owns the offsets and reads exact ranges of explicitly assigned partitions. With
// KafkaAssignment::kGroup, the process also joins the consumer group, which decides the partitions
// it owns (scale-out); the group's committed offsets are then written for monitoring only.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kafka/kafka_client.h"
#include "onceflow/options.h"
#include "source/kafka_group.h"
#include "source/kafka_stream.h"
#include "source/source.h"

namespace onceflow::source {

// The options are the public ones (include/onceflow/options.h). The source uses the
// connection and assignment settings; `group` must be set (librdkafka needs a group.id to
// assign partitions; without assign = kGroup nothing joins or commits to it), and `records` is
// the decoder's. With KafkaAssignment::kGroup the process shares the topic's partitions with
// the pipeline's other processes through the consumer group (Owned() says which are its own).
using onceflow::KafkaSourceOptions;

// Offsets: EarliestOffsets is each partition's low watermark, EndOffsets its last stable offset
// (isolation.level=read_committed): a batch never plans past an open transaction, so its range
// reads the same records on every replay.
//
// Read reads exactly [from, until) with read_committed. Offsets inside a range may be missing
// (transaction markers, aborted transactions, compaction); a range is done when the consumer's
// position reaches `until`. A range the broker cannot deliver within read_timeout (deleted by
// retention, broker down) is an error, never a short read.
//
// Thread-safety: every method may be called concurrently. Read reads through a
// KafkaPartitionStream of the partition (kafka_stream.h): a consumer that stays assigned to the
// partition and keeps fetching between reads, so that the next batch's range — starting where
// the previous batch's ended — is already prefetched when its task asks. A read starting
// anywhere else seeks that consumer. A partition has one stream, plus one more per concurrent
// reader of it (a speculative twin); idle ones are kept, at most kIdleStreamsPerPartition, and
// those of partitions another group member took over are closed.
class KafkaSource : public Source {
 public:
  // Connects and checks that the topic exists (not_found names it).
  static Result<std::unique_ptr<KafkaSource>> Open(KafkaSourceOptions options);
  ~KafkaSource() override;

  Result<Bounds> OffsetBounds() override;
  Status Read(PartitionId partition, Offset from, Offset until, const RecordFn& fn) override;
  // Long-polls a consumer assigned to every partition at `positions`: returns when a record
  // arrives, a partition appears, or the timeout passes. No spinning: the broker holds the
  // fetch until data arrives.
  void WaitForData(const std::vector<Offset>& positions,
                   std::chrono::milliseconds timeout) override;
  // The topic and the cluster id (rd_kafka_clusterid).
  Result<SourceIdentity> Identity() override;
  std::string Describe() const override;
  std::optional<Ownership> Owned() override;
  void ReportPositions(const std::vector<Offset>& positions) override;

  // Consumers made so far for reads (streams), for tests and benchmarks.
  size_t consumers_made() const;
  // Reads that went on where their stream stood, and reads that had to seek, so far.
  struct ReadCounts {
    size_t continued = 0;
    size_t seeked = 0;
    size_t fresh_retries = 0;  // reads that went on with a new stream after a fetch error
  };
  ReadCounts read_counts() const;

  // Idle streams kept per partition: the one the batches go on with. A speculative twin's
  // stream is closed when it is returned after another one (each idle stream keeps fetching
  // ahead, up to queued.max.messages.kbytes, so an extra one would hold memory for nothing).
  static constexpr size_t kIdleStreamsPerPartition = 1;

  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

 private:
  explicit KafkaSource(KafkaSourceOptions options) : options_(std::move(options)) {}

  // A read_committed consumer; `waiter`: for WaitForData (long fetch polls).
  Result<kafka::Handle> MakeConsumer(bool waiter) const;
  // An idle stream of `partition`, preferring one that continues at `from`; else a new one
  // assigned at `from`.
  Result<std::unique_ptr<KafkaPartitionStream>> TakeStream(PartitionId partition, Offset from);
  Result<std::unique_ptr<KafkaPartitionStream>> NewStream(PartitionId partition, Offset from);
  void ReturnStream(std::unique_ptr<KafkaPartitionStream> stream);
  std::string Where(PartitionId partition) const;

  const KafkaSourceOptions options_;
  kafka::Handle meta_;                        // metadata and watermarks (read_committed)
  std::unique_ptr<KafkaGroupMember> member_;  // with KafkaAssignment::kGroup only
  std::vector<int32_t> owned_;                // member_'s partitions at the last Owned()

  mutable std::mutex mu_;
  // Idle streams by partition, the most recently returned last.
  std::map<int32_t, std::vector<std::unique_ptr<KafkaPartitionStream>>> idle_;
  size_t made_ = 0;
  ReadCounts counts_;

  std::mutex wait_mu_;
  kafka::Handle waiter_;  // WaitForData's consumer, made on first use
};

}  // namespace onceflow::source
