// VisibilitySketch: merging and quantiles.
#include "history/visibility_sketch.h"

#include <algorithm>

namespace onceflow::history {

int64_t VisibilitySketch::BucketMiddle(int bucket) {
  if (bucket < kLinear) return bucket;
  const int log2 = (bucket - kLinear) / kSubBuckets + 4;
  const int sub = (bucket - kLinear) % kSubBuckets;
  const int64_t width = int64_t{1} << (log2 - 3);
  const int64_t low = (int64_t{1} << log2) + sub * width;
  return low + width / 2;
}

void VisibilitySketch::Merge(const VisibilitySketch& other) {
  if (other.count_ == 0) return;
  const int64_t shift = reference_ms_ - other.reference_ms_;
  for (int b = 0; b < kBuckets; ++b) {
    if (other.buckets_[b] == 0) continue;
    const int64_t age = shift == 0 ? -1 : BucketMiddle(b) + shift;
    const int to = shift == 0 ? b : BucketOf(age > 0 ? static_cast<uint64_t>(age) : 0);
    buckets_[to] += other.buckets_[b];
  }
  count_ += other.count_;
  min_timestamp_ms_ = std::min(min_timestamp_ms_, other.min_timestamp_ms_);
}

VisibilitySketch::Latency VisibilitySketch::LatencyAt(int64_t visible_ms) const {
  Latency l;
  if (count_ == 0) return l;
  const int64_t since_reference = visible_ms - reference_ms_;
  // The records at ranks ceil(q * count) (1-based), youngest age first.
  const int64_t rank50 = std::max<int64_t>(1, (count_ * 50 + 99) / 100);
  const int64_t rank99 = std::max<int64_t>(1, (count_ * 99 + 99) / 100);
  int64_t seen = 0;
  for (int b = 0; b < kBuckets && l.p99_ms < 0; ++b) {
    if (buckets_[b] == 0) continue;
    seen += buckets_[b];
    const int64_t latency = std::max<int64_t>(0, BucketMiddle(b) + since_reference);
    if (l.p50_ms < 0 && seen >= rank50) l.p50_ms = latency;
    if (seen >= rank99) l.p99_ms = latency;
  }
  l.max_ms = std::max<int64_t>(0, visible_ms - min_timestamp_ms_);
  l.p50_ms = std::min(l.p50_ms, l.max_ms);
  l.p99_ms = std::min(l.p99_ms, l.max_ms);
  return l;
}

}  // namespace onceflow::history
