// VisibilitySketch: the ages of a batch's records in a fixed-size log-linear histogram, so that
// the batch history can report how long its records took from their timestamp to their commit
// (p50, p99, max) at the cost of a few instructions per record and no allocation.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <limits>

namespace onceflow::history {

// Ages are kept relative to a reference time (the wall clock, ms, when the sketch was made):
// age = reference - record timestamp (a record stamped after the reference counts as age 0).
// Buckets: 0..15 ms exactly, then 8 buckets per power of two (an error under 7 %).
// Thread-safety: none; one per task attempt, merged once the tasks are done.
class VisibilitySketch {
 public:
  static constexpr int kLinear = 16;
  static constexpr int kSubBuckets = 8;
  static constexpr int kBuckets = kLinear + (64 - 4) * kSubBuckets;

  VisibilitySketch() = default;
  explicit VisibilitySketch(int64_t reference_ms) : reference_ms_(reference_ms) {}

  void Add(int64_t timestamp_ms) {
    const int64_t age = reference_ms_ - timestamp_ms;
    ++buckets_[BucketOf(age > 0 ? static_cast<uint64_t>(age) : 0)];
    ++count_;
    if (timestamp_ms < min_timestamp_ms_) min_timestamp_ms_ = timestamp_ms;
  }
  // Adds `other`'s records, moving them from its reference to this one's.
  void Merge(const VisibilitySketch& other);

  struct Latency {
    int64_t p50_ms = -1, p99_ms = -1, max_ms = -1;  // -1: no records
  };
  // How long the records took from their timestamps to `visible_ms` (when their batch was
  // committed): quantiles from the buckets, the max exact (from the oldest timestamp).
  Latency LatencyAt(int64_t visible_ms) const;

  int64_t count() const { return count_; }
  int64_t reference_ms() const { return reference_ms_; }

  static int BucketOf(uint64_t age) {
    if (age < kLinear) return static_cast<int>(age);
    const int log2 = 63 - std::countl_zero(age);  // >= 4
    const int sub = static_cast<int>((age >> (log2 - 3)) & (kSubBuckets - 1));
    return kLinear + (log2 - 4) * kSubBuckets + sub;
  }
  // The middle of a bucket's ages.
  static int64_t BucketMiddle(int bucket);

 private:
  int64_t reference_ms_ = 0;
  int64_t count_ = 0;
  int64_t min_timestamp_ms_ = std::numeric_limits<int64_t>::max();
  std::array<uint32_t, kBuckets> buckets_{};
};

}  // namespace onceflow::history
