// OffsetIndex: the sparse index of one segment, mapping an offset to the byte position of the
// batch that holds it, with an entry every `index_interval_bytes` of log data. Kept in memory;
// written to the segment's .index file (with the segment's summary) when the segment is sealed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace onceflow::log {

// What a sealed segment's index file records besides the index: enough to open the segment
// without reading it.
struct SegmentSummary {
  Offset base_offset;
  Offset next_offset;     // one past the last record
  uint64_t data_end = 0;  // bytes of batches in the file
  int64_t max_timestamp = 0;
};

// Not thread-safe: guarded by the owner of the segment.
class OffsetIndex {
 public:
  struct Entry {
    Offset offset;      // base offset of the batch at `position`
    uint64_t position;  // byte position of that batch in the segment file
  };

  explicit OffsetIndex(Offset base_offset) : base_offset_(base_offset) {}

  // Records that the batch starting at `offset` sits at `position`. Entries must be added in
  // increasing order; the caller decides the spacing.
  void Add(Offset offset, uint64_t position);
  // Returns the entry with the greatest offset <= target; the segment start if none.
  Entry Lookup(Offset target) const;
  // Drops the entries at or past `position` (after a torn tail is truncated).
  void TruncateFrom(uint64_t position);
  size_t size() const { return entries_.size(); }
  uint64_t last_position() const { return entries_.empty() ? 0 : entries_.back().position; }

  // The .index file bytes: magic, version, summary, entries, CRC32C (docs/formats/log.md).
  std::string Encode(const SegmentSummary& summary) const;
  // Parses an .index file. A short file, a bad magic or CRC is corruption (the caller rebuilds
  // the index by scanning the segment).
  static Result<OffsetIndex> Decode(std::string_view bytes, SegmentSummary* summary);

 private:
  struct Packed {
    uint32_t relative_offset;
    uint32_t position;
  };
  Offset base_offset_;
  std::vector<Packed> entries_;
};

}  // namespace onceflow::log
