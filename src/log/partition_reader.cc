// PartitionReader.
#include "log/partition_reader.h"

namespace onceflow::log {

Result<bool> PartitionReader::Next(RecordView* record, Offset* offset) {
  while (true) {
    if (records_) {
      while (records_->Next(record, offset)) {
        if (*offset < position_) continue;  // the first batch may start before `from`
        position_ = *offset + 1;
        return true;
      }
      records_.reset();
      ++batch_;
    }
    if (batch_ < fetched_.batches.size()) {
      records_.emplace(fetched_.batches[batch_].records());
      continue;
    }
    ONCEFLOW_ASSIGN_OR_RETURN(fetched_, log_->Read(position_, fetch_bytes_));
    batch_ = 0;
    if (fetched_.skipped) {
      // A range recorded as lost: continue after it.
      skipped_.push_back(*fetched_.skipped);
      position_ = fetched_.next_offset;
      continue;
    }
    if (fetched_.batches.empty()) return false;
  }
}

}  // namespace onceflow::log
