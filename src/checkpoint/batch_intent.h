// BatchIntent: what the offsets log records for a batch before it runs (DESIGN.md step 2):
// its id, the exact input ranges, batch time, watermark and seed. A batch that is re-run after
// a crash uses exactly these, so it reads and produces exactly the same.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/status.h"
#include "onceflow/offset_range.h"

namespace onceflow::checkpoint {

struct BatchIntent {
  BatchId batch;
  int64_t batch_time_ms = 0;
  int64_t watermark_ms = 0;
  uint64_t seed = 0;
  std::vector<OffsetRange> ranges;  // one per input partition, in partition order

  friend bool operator==(const BatchIntent&, const BatchIntent&) = default;
};

// Record encodings (docs/formats/checkpoint.md): a version byte, then varints.
std::string EncodeIntent(const BatchIntent& intent);
Result<BatchIntent> DecodeIntent(std::string_view bytes);
std::string EncodeCommit(BatchId batch);
Result<BatchId> DecodeCommit(std::string_view bytes);

}  // namespace onceflow::checkpoint
