// PartitionReader: iterates the records of one partition from an offset on, fetching whole
// batches from the PartitionLog and skipping the records before the start offset.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "log/loss_record.h"
#include "log/partition_log.h"
#include "onceflow/ids.h"
#include "onceflow/record.h"
#include "onceflow/status.h"

namespace onceflow::log {

// Not thread-safe: one reader per thread. "*log" must outlive the reader.
class PartitionReader {
 public:
  PartitionReader(const PartitionLog* log, Offset from, size_t fetch_bytes = 1u << 20)
      : log_(log), position_(from), fetch_bytes_(fetch_bytes) {}

  // Decodes the next record into *record and *offset and returns true; returns false at the
  // current end of the log (call again later for more). The record's bytes stay valid until
  // the next call.
  Result<bool> Next(RecordView* record, Offset* offset);

  // The offset of the next record Next() returns.
  Offset position() const { return position_; }
  // The ranges recorded as lost (`topics repair --skip-damaged`) that Next() jumped over so
  // far, in offset order: a caller that expects contiguous offsets reports them.
  const std::vector<LossEvent>& skipped() const { return skipped_; }

 private:
  const PartitionLog* log_;
  Offset position_;
  size_t fetch_bytes_;
  ReadResult fetched_;
  size_t batch_ = 0;
  std::optional<BatchView::Iterator> records_;
  std::vector<LossEvent> skipped_;
};

}  // namespace onceflow::log
