// NexmarkSource: the Nexmark generator as a pipeline source. Nothing is stored: the records of
// any offset range are generated again, identically, on every read, so a re-run batch reads
// exactly what it read before, as from a log.
#pragma once

#include <memory>
#include <string>

#include "onceflow/options.h"
#include "source/source.h"

namespace onceflow::source {

// Partition p holds the kind's events p, p + P, p + 2P, ... (P = options.partitions): offset k
// of partition p is the kind's event k * P + p. Each record's value is the event as a JSON
// object (nexmark::AppendJson), its timestamp the event time, no key; ReadRows hands the same
// events as the Rows the JSON decoder makes of those records (nexmark::FillRow).
// Thread-safety: as Source; Read keeps its buffers on the caller's stack.
class NexmarkSource : public Source {
 public:
  // invalid_argument naming the source.* key for options that are not usable.
  static Result<std::unique_ptr<NexmarkSource>> Open(const NexmarkSourceOptions& options);

  // Earliest 0; end: the partition's share of the kind's events among the first
  // options.events.
  Result<Bounds> OffsetBounds() override;
  Status Read(PartitionId partition, Offset from, Offset until, const RecordFn& fn) override;
  // The same events as Rows (nexmark::FillRow): what the JSON decoder makes of Read's records.
  bool MakesRows() const override { return true; }
  Status ReadRows(PartitionId partition, Offset from, Offset until, const RowFn& fn) override;
  // Nothing more ever arrives: waits out the timeout (an idle pipeline at the end sleeps).
  void WaitForData(const std::vector<Offset>& positions,
                   std::chrono::milliseconds timeout) override;
  // type "nexmark", topic the kind, id the generator settings (nexmark::NexmarkFingerprint).
  Result<SourceIdentity> Identity() override;
  std::string Describe() const override;

  // The end offset of `partition` (0 for one past the partitions).
  Offset EndOf(PartitionId partition) const;

 private:
  explicit NexmarkSource(const NexmarkSourceOptions& options);
  // ok, or out_of_range naming the partition or the range that is not in the source.
  Status CheckRange(PartitionId partition, Offset from, Offset until) const;

  NexmarkSourceOptions options_;
  int64_t count_;  // the kind's events among the first options_.events
};

}  // namespace onceflow::source
