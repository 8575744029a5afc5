// Per-partition event time and the watermark.
#include "operators/watermark.h"

#include <algorithm>

#include "util/coding.h"

namespace onceflow::operators {

int64_t EventTimes::MaxEventTime() const {
  int64_t max = kNoTime;
  for (const auto& [p, t] : partitions) max = std::max(max, t.max_event_time);
  return max;
}

int64_t EventTimes::WatermarkAt(const std::vector<OffsetRange>& ranges, int64_t batch_time_ms,
                                const WatermarkPolicy& policy) const {
  bool any_active = false;
  int64_t min_active = INT64_MAX;
  int64_t max_all = kNoTime;
  for (const OffsetRange& r : ranges) {
    Partition t;
    t.last_active_ms = batch_time_ms;  // unknown: first listed now
    if (auto it = partitions.find(r.partition.value()); it != partitions.end()) t = it->second;
    max_all = std::max(max_all, t.max_event_time);
    // Overflow-safe "batch_time - last_active < idle_timeout".
    const bool active =
        t.last_active_ms >= batch_time_ms ||
        static_cast<uint64_t>(batch_time_ms) - static_cast<uint64_t>(t.last_active_ms) <
            static_cast<uint64_t>(policy.idle_timeout_ms);
    if (active) {
      any_active = true;
      min_active = std::min(min_active, t.max_event_time);
    }
  }
  const int64_t input = any_active ? min_active : max_all;
  if (input == kNoTime) return watermark;
  // Saturating: a lateness larger than the event time's distance from INT64_MIN.
  const int64_t candidate = input < kNoTime + 1 + policy.allowed_lateness_ms
                                ? kNoTime + 1
                                : input - policy.allowed_lateness_ms;
  return std::max(watermark, candidate);
}

void EventTimes::Advance(const std::vector<OffsetRange>& ranges, int64_t batch_time_ms,
                         const std::map<int32_t, int64_t>& seen) {
  for (const OffsetRange& r : ranges) {
    auto [it, inserted] = partitions.try_emplace(r.partition.value());
    if (inserted) it->second.last_active_ms = batch_time_ms;
  }
  for (const auto& [p, max] : seen) {
    Partition& t = partitions[p];
    t.max_event_time = std::max(t.max_event_time, max);
    t.last_active_ms = std::max(t.last_active_ms, batch_time_ms);
  }
}

std::string EventTimes::Encode() const {
  std::string out(1, '\x01');
  coding::PutVarint64(&out, coding::ZigZag(watermark));
  coding::PutVarint64(&out, partitions.size());
  for (const auto& [p, t] : partitions) {
    coding::PutVarint64(&out, static_cast<uint64_t>(static_cast<uint32_t>(p)));
    coding::PutVarint64(&out, coding::ZigZag(t.max_event_time));
    coding::PutVarint64(&out, coding::ZigZag(t.last_active_ms));
  }
  return out;
}

Result<EventTimes> EventTimes::Decode(std::string_view bytes) {
  if (bytes.empty() || bytes[0] != '\x01') {
    return Err(Status::Corruption(
        "state store: event times of an unknown version (written by a newer onceflow?)"));
  }
  const char* p = bytes.data() + 1;
  const char* end = bytes.data() + bytes.size();
  bool ok = true;
  auto u = [&]() -> uint64_t {
    uint64_t v = 0;
    if (ok && (p = coding::DecodeVarint64(p, end, &v)) == nullptr) ok = false;
    return ok ? v : 0;
  };
  EventTimes times;
  times.watermark = coding::UnZigZag(u());
  const uint64_t n = u();
  if (!ok || n > bytes.size()) return Err(Status::Corruption("state store: malformed event times"));
  for (uint64_t i = 0; i < n && ok; ++i) {
    const auto partition = static_cast<int32_t>(static_cast<uint32_t>(u()));
    Partition t;
    t.max_event_time = coding::UnZigZag(u());
    t.last_active_ms = coding::UnZigZag(u());
    times.partitions[partition] = t;
  }
  if (!ok || p != end) return Err(Status::Corruption("state store: malformed event times"));
  return times;
}

}  // namespace onceflow::operators
