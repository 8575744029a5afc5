// KafkaPartitionStream: one read_committed consumer that stays assigned to one partition and
// keeps fetching between reads, so that a read starting where the previous one ended finds its
// records already prefetched; a read starting anywhere else seeks first.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "kafka/kafka_client.h"
#include "onceflow/ids.h"
#include "source/source.h"

namespace onceflow::source {

struct KafkaMessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaMessageDeleter>;

// Lifecycle: Open assigns the consumer its partition at an offset; from then on the consumer
// fetches ahead (up to its queued.max.messages.kbytes) whether or not a read is running. Reads
// happen one at a time (the owner, KafkaSource, hands a stream to one reader at a time); a
// stream whose read failed is closed, never read again.
//
// Exactness (docs/protocol.md: a batch's ranges read identically on every attempt):
// - Continuing: the stream remembers the `until` of its last successful read (`continues_at`).
//   Every record below it was handed out, and the consumer's queue — plus the one record the
//   last read took past its end (`pending_`) — holds the records from it on, in offset order,
//   none skipped (read_committed leaves out only aborted records and transaction markers).
//   A read of [continues_at, until) therefore just goes on.
// - Seeking: any other start (a replay after a crash, a retried task, a range another process
//   read in group mode) seeks with rd_kafka_seek_partitions. The seek raises the partition's
//   fetch version before it returns, and librdkafka drops every fetched message of an older
//   version when it is polled and every fetch response of an older version when it arrives, so
//   no record of a fetch made before the seek is handed out; the pending record is dropped too.
//   The one thing librdkafka (2.0.2) does not version is its auto.offset.reset error, which it
//   raises with version 0: a stream that has history can therefore report an out-of-range
//   error that belongs to an earlier position. Such an error is `fetch_error` in ReadEnd, and
//   the owner answers it with a stream that has no history (see KafkaSource::Read).
class KafkaPartitionStream {
 public:
  // Takes `consumer` (read_committed, auto.offset.reset=error, enable.partition.eof=false) and
  // assigns it `partition` of `topic` at `from`. `where` names the partition in errors.
  static Result<std::unique_ptr<KafkaPartitionStream>> Open(kafka::Handle consumer,
                                                            std::string topic,
                                                            PartitionId partition, Offset from,
                                                            std::string where);
  ~KafkaPartitionStream();

  // How a read ended, for the owner's recovery from a failed read.
  struct ReadEnd {
    // Every record of [from, resume) was handed to fn; the read may go on from here.
    Offset resume;
    // The consumer reported an error (not fn, not a timeout): possibly a stale one.
    bool fetch_error = false;
    // The read continued the stream (no seek).
    bool continued = false;
  };

  // Calls fn for each record of [from, until), in offset order. A range is done when the
  // consumer's position reaches `until` (offsets inside it may hold no record) or a record at
  // or past `until` arrives (kept for the next read). Nothing arriving within `read_timeout`
  // is out_of_range, as is a range the broker no longer (or not yet) holds. An error from fn
  // stops the read and is returned. REQUIRES: from < until; no earlier read failed.
  Status Read(Offset from, Offset until, const Source::RecordFn& fn,
              std::chrono::milliseconds read_timeout, ReadEnd* end);

  // Where a read continues without a seek: the `until` of the last successful read, or the
  // offset Open assigned. -1 after a failed read.
  Offset continues_at() const { return next_; }
  PartitionId partition() const { return partition_; }
  // Whether the stream read before the read that is running or just ended: a stream that did
  // not reports nothing but its own assignment's answers.
  bool had_history() const { return reads_ > 1; }

  KafkaPartitionStream(const KafkaPartitionStream&) = delete;
  KafkaPartitionStream& operator=(const KafkaPartitionStream&) = delete;

 private:
  KafkaPartitionStream(kafka::Handle consumer, std::string topic, PartitionId partition,
                       std::string where)
      : consumer_(std::move(consumer)),
        topic_(std::move(topic)),
        partition_(partition),
        where_(std::move(where)) {}

  // Moves the fetch position to `from` (see the class comment); drops pending_.
  Status Seek(Offset from, std::chrono::milliseconds timeout);
  // The consumer's position: the offset after the last record or transaction marker it
  // passed; -1 before the first (and right after a seek).
  int64_t Position() const;

  kafka::Handle consumer_;
  const std::string topic_;
  const PartitionId partition_;
  const std::string where_;
  // The invariant of "Continuing" above holds at next_; -1: unknown (a seek is needed).
  Offset next_{-1};
  // A record the last read took from the consumer at or past its `until`: the next one in
  // offset order after next_. Null when the consumer's queue holds the next record.
  KafkaMessage pending_;
  int64_t reads_ = 0;  // reads started
};

}  // namespace onceflow::source
