// Source: where a pipeline's records come from, read in exact offset ranges so that a batch
// re-run after a crash reads exactly what it read before (docs/protocol.md; Kafka's direct
// approach: the engine owns the offsets).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/record.h"
#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::source {

// Which source a pipeline reads: recorded in its checkpoint at the first batch, so that a
// pipeline whose source changed under the same name (the topic renamed in its TOML, a topic
// deleted and created again) is refused instead of applying one topic's offsets to another.
struct SourceIdentity {
  std::string type;   // "log", "kafka" or "nexmark"
  std::string topic;  // nexmark: the kind ("bid", "all", ...)
  // nexmark: the generator's settings (nexmark::NexmarkFingerprint). log: the topic's creation id
  // (empty for a topic created before ids); kafka: the cluster id the brokers report
  // (librdkafka 2.0 reports no topic id: a Kafka topic created again is caught by the fingerprint
  // of the last committed record instead).
  std::string id;

  // "log topic 'events' (id 3f9c...)", "kafka topic 'events' (cluster abc...)", "nexmark
  // generator 'bid' (model=1 kind=bid partitions=4 ...)".
  std::string ToString() const {
    if (type == "nexmark") return "nexmark generator '" + topic + "' (" + id + ")";
    std::string out = type + " topic '" + topic + "'";
    const char* what = type == "kafka" ? "cluster " : "id ";
    out += id.empty() ? std::string(type == "kafka" ? " (no cluster id)" : " (no id)")
                      : " (" + std::string(what) + id + ")";
    return out;
  }
  friend bool operator==(const SourceIdentity&, const SourceIdentity&) = default;
};

// Thread-safety: every method may be called from any thread; Read runs concurrently from the
// executor's task threads.
class Source {
 public:
  virtual ~Source() = default;

  // The offsets a batch may start at and read up to, per partition (index = partition id):
  // [earliest, end), both from one look at the source (one refresh of each partition, one
  // watermark request), so that the two vectors have the same partitions. The partition count
  // may grow between calls, never shrink.
  struct Bounds {
    std::vector<Offset> earliest;
    std::vector<Offset> end;
  };
  virtual Result<Bounds> OffsetBounds() = 0;
  Result<std::vector<Offset>> EarliestOffsets() {
    ONCEFLOW_ASSIGN_OR_RETURN(Bounds b, OffsetBounds());
    return std::move(b.earliest);
  }
  Result<std::vector<Offset>> EndOffsets() {
    ONCEFLOW_ASSIGN_OR_RETURN(Bounds b, OffsetBounds());
    return std::move(b.end);
  }

  // Calls fn for each record of [from, until) of `partition`, in offset order. An error from
  // fn stops the read and is returned. A range that is no longer (or not yet) fully available
  // is an error: a batch's ranges are fixed and must read identically.
  using RecordFn = std::function<Status(Offset, const RecordView&)>;
  virtual Status Read(PartitionId partition, Offset from, Offset until, const RecordFn& fn) = 0;

  // A source that makes its records as Rows (the Nexmark generator) may also hand them as
  // Rows, so that a task skips writing each record as text and decoding the text again.
  // MakesRows() says whether ReadRows is available; it is the same for the source's lifetime.
  // ReadRows calls fn for each record of [from, until) of `partition`, in offset order, with
  // exactly the Row the source's decoder makes of the record Read hands at that offset, and
  // that record's timestamp. fn may modify or move from *row (the source fills it again for
  // the next record, reusing what memory is left in it); *row is valid only during the call.
  // Errors as Read. REQUIRES: MakesRows().
  using RowFn = std::function<Status(Offset, Row* row, int64_t timestamp_ms)>;
  virtual bool MakesRows() const { return false; }
  virtual Status ReadRows(PartitionId partition, Offset from, Offset until, const RowFn& fn) {
    (void)partition, (void)from, (void)until, (void)fn;
    return Status::InvalidArgument(Describe() + " does not make rows");
  }

  // Blocks until some partition has data at or past positions[p] (or a new partition appears),
  // or the timeout passes. Lets an idle pipeline sleep instead of spinning.
  virtual void WaitForData(const std::vector<Offset>& positions,
                           std::chrono::milliseconds timeout) = 0;

  // Scale-out (docs/protocol.md "Fencing, epochs and claims"): the partitions this process owns
  // now, and the epoch that fences their previous owners. nullopt: the source is not shared and
  // every partition is this process's. An epoch of -1: nothing owned yet.
  struct Ownership {
    Epoch epoch{-1};
    std::vector<PartitionId> partitions;  // sorted
    bool operator==(const Ownership&) const = default;
  };
  virtual std::optional<Ownership> Owned() { return std::nullopt; }
  // After a batch: where the owned partitions stand (index = partition), for monitoring tools.
  virtual void ReportPositions(const std::vector<Offset>& positions) { (void)positions; }

  // Which source this is (see SourceIdentity). May ask the source (Kafka: one metadata call).
  virtual Result<SourceIdentity> Identity() = 0;

  virtual std::string Describe() const = 0;
};

}  // namespace onceflow::source
