// Strong identity types: an Offset is not a PartitionId is not a BatchId, so a swapped argument
// is a compile error rather than a wrong read.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace onceflow {

// A value of type Rep tagged with Tag. Ordered and hashable; arithmetic only where it means
// something (see the helpers below each alias).
template <typename Tag, typename Rep>
class StrongId {
 public:
  using rep_type = Rep;

  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : value_(v) {}

  constexpr Rep value() const { return value_; }
  constexpr auto operator<=>(const StrongId&) const = default;

  std::string ToString() const { return std::to_string(value_); }

 private:
  Rep value_{};
};

struct OffsetTag {};
struct PartitionIdTag {};
struct BatchIdTag {};
struct EpochTag {};

// The position of a record in a partition: 0, 1, 2, ... without gaps in the embedded log.
using Offset = StrongId<OffsetTag, int64_t>;
// A partition of a topic, 0 .. partitions-1.
using PartitionId = StrongId<PartitionIdTag, int32_t>;
// A micro-batch of a pipeline, 0, 1, 2, ...
using BatchId = StrongId<BatchIdTag, int64_t>;
// A fencing epoch: a newer epoch fences every older writer.
using Epoch = StrongId<EpochTag, int64_t>;

constexpr Offset operator+(Offset o, int64_t n) { return Offset(o.value() + n); }
constexpr Offset operator-(Offset o, int64_t n) { return Offset(o.value() - n); }
// The number of offsets in [b, a).
constexpr int64_t operator-(Offset a, Offset b) { return a.value() - b.value(); }

}  // namespace onceflow

template <typename Tag, typename Rep>
struct std::hash<onceflow::StrongId<Tag, Rep>> {
  size_t operator()(const onceflow::StrongId<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};
