// BatchIntent: what the offsets log records for a batch before it runs (docs/protocol.md step 2):
// its id, the exact input ranges, batch time, watermark and seed. A batch that is re-run after
// a crash uses exactly these, so it reads and produces exactly the same.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/offset_range.h"
#include "onceflow/record.h"
#include "onceflow/status.h"

namespace onceflow::checkpoint {

// No watermark yet (no event time seen, or a pipeline not on event time).
inline constexpr int64_t kNoWatermark = INT64_MIN;

struct BatchIntent {
  BatchId batch;
  int64_t batch_time_ms = 0;
  // The event-time watermark in force during the batch: max_event_time_ms minus the allowed
  // lateness. Records older than it are late (dead letters). Version 1 records read as
  // kNoWatermark.
  int64_t watermark_ms = kNoWatermark;
  // The greatest event time of the batches before this one (kNoWatermark: none), committed with
  // the keyed state; recorded so that the watermark can be explained and checked. Version 2.
  int64_t max_event_time_ms = kNoWatermark;
  uint64_t seed = 0;
  std::vector<OffsetRange> ranges;  // one per input partition, in partition order
  // The batch closes every open event-time window after its records (emitting them with
  // emit = "final"): the last batch of `run --until-caught-up` with
  // window.emit_open_windows_at_end. Recorded so that a re-run closes (and emits) exactly the
  // same windows. Version 3; older versions read as false.
  bool close_windows = false;

  friend bool operator==(const BatchIntent&, const BatchIntent&) = default;
};

// The last committed record of an input partition and its fingerprint: enough to notice, at the
// next start, that the source lost it (it ends at or before `offset`) or rewrote it (the record
// at `offset` has another fingerprint) — Kafka's leader-epoch check (KIP-101/KIP-320) done with
// a checksum, for a source of any kind.
struct PartitionMark {
  PartitionId partition;
  Offset offset;             // of the last record read from the partition by a committed batch
  uint32_t fingerprint = 0;  // RecordFingerprint of that record
  friend bool operator==(const PartitionMark&, const PartitionMark&) = default;
};

// CRC32C of a record's key (and whether it has one), value and timestamp; headers are left out.
uint32_t RecordFingerprint(const RecordView& record);

// What the commits log records for a batch done: its id and, per input partition ever read,
// the mark of its last committed record (version 2; version 1 has no marks).
struct CommitRecord {
  BatchId batch;
  std::vector<PartitionMark> marks;  // sorted by partition
  friend bool operator==(const CommitRecord&, const CommitRecord&) = default;
};

// Record encodings (docs/formats/checkpoint.md): a version byte, then varints. Intents are
// written as version 3; versions 1 to 3 are read. Commits are written as version 2 (the marks);
// versions 1 and 2 are read.
std::string EncodeIntent(const BatchIntent& intent);
Result<BatchIntent> DecodeIntent(std::string_view bytes);
std::string EncodeCommit(BatchId batch, std::span<const PartitionMark> marks = {});
Result<CommitRecord> DecodeCommitRecord(std::string_view bytes);
// The batch of a commit record of any version.
Result<BatchId> DecodeCommit(std::string_view bytes);

}  // namespace onceflow::checkpoint
