// Sparse offset index and its file encoding.
#include "log/offset_index.h"

#include <algorithm>

#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::log {
namespace {
constexpr uint32_t kIndexMagic = 0x5849464F;  // "OFIX"
constexpr uint32_t kIndexVersion = 1;
constexpr size_t kIndexHeaderSize = 44;
}  // namespace

void OffsetIndex::Add(Offset offset, uint64_t position) {
  entries_.push_back(
      {static_cast<uint32_t>(offset - base_offset_), static_cast<uint32_t>(position)});
}

OffsetIndex::Entry OffsetIndex::Lookup(Offset target) const {
  const int64_t rel = target - base_offset_;
  auto it = std::upper_bound(entries_.begin(), entries_.end(), rel,
                             [](int64_t r, const Packed& e) { return r < e.relative_offset; });
  if (it == entries_.begin()) return {base_offset_, 0};
  --it;
  return {base_offset_ + it->relative_offset, it->position};
}

void OffsetIndex::TruncateFrom(uint64_t position) {
  while (!entries_.empty() && entries_.back().position >= position) entries_.pop_back();
}

std::string OffsetIndex::Encode(const SegmentSummary& s) const {
  std::string out;
  out.reserve(kIndexHeaderSize + entries_.size() * 8 + 4);
  coding::PutFixed32(&out, kIndexMagic);
  coding::PutFixed32(&out, kIndexVersion);
  coding::PutFixed64(&out, static_cast<uint64_t>(s.base_offset.value()));
  coding::PutFixed64(&out, static_cast<uint64_t>(s.next_offset.value()));
  coding::PutFixed64(&out, s.data_end);
  coding::PutFixed64(&out, static_cast<uint64_t>(s.max_timestamp));
  coding::PutFixed32(&out, static_cast<uint32_t>(entries_.size()));
  for (const Packed& e : entries_) {
    coding::PutFixed32(&out, e.relative_offset);
    coding::PutFixed32(&out, e.position);
  }
  coding::PutFixed32(&out, crc32c::Value(out));
  return out;
}

Result<OffsetIndex> OffsetIndex::Decode(std::string_view b, SegmentSummary* s) {
  if (b.size() < kIndexHeaderSize + 4) return Err(Status::Corruption("index file too short"));
  const char* p = b.data();
  if (coding::DecodeFixed32(p) != kIndexMagic) return Err(Status::Corruption("bad index magic"));
  if (coding::DecodeFixed32(p + 4) != kIndexVersion) {
    return Err(Status::Corruption("unknown index version"));
  }
  const uint32_t count = coding::DecodeFixed32(p + 40);
  if (b.size() != kIndexHeaderSize + static_cast<size_t>(count) * 8 + 4) {
    return Err(Status::Corruption("index file size does not match its entry count"));
  }
  if (crc32c::Value(p, b.size() - 4) != coding::DecodeFixed32(p + b.size() - 4)) {
    return Err(Status::Corruption("index checksum mismatch"));
  }
  s->base_offset = Offset(static_cast<int64_t>(coding::DecodeFixed64(p + 8)));
  s->next_offset = Offset(static_cast<int64_t>(coding::DecodeFixed64(p + 16)));
  s->data_end = coding::DecodeFixed64(p + 24);
  s->max_timestamp = static_cast<int64_t>(coding::DecodeFixed64(p + 32));
  OffsetIndex index(s->base_offset);
  const char* e = p + kIndexHeaderSize;
  for (uint32_t i = 0; i < count; ++i, e += 8) {
    index.entries_.push_back({coding::DecodeFixed32(e), coding::DecodeFixed32(e + 4)});
  }
  return index;
}

}  // namespace onceflow::log
