// EventTimes: the event-time progress of a stateful pipeline, per input partition, and the
// watermark computed from it (README, "Aggregates and windows"). Committed with the keyed state
// (docs/formats/state.md, Xevent_times) so that a batch re-run after a crash computes the same.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/offset_range.h"
#include "onceflow/status.h"

namespace onceflow::operators {

// "No time": no event time seen, no watermark yet (checkpoint::kNoWatermark).
inline constexpr int64_t kNoTime = INT64_MIN;

// How a watermark is made from the partitions' event times.
struct WatermarkPolicy {
  int64_t allowed_lateness_ms = 0;
  // A partition that gave no event time for this long (in batch time) is idle: it no longer
  // holds the watermark back. A partition first listed by a batch counts as active from that
  // batch's time.
  int64_t idle_timeout_ms = 30000;
};

// Lifecycle: a value. Thread-safety: none (the driver thread's).
struct EventTimes {
  struct Partition {
    int64_t max_event_time = kNoTime;  // the greatest event time of its records (not late)
    int64_t last_active_ms = 0;        // batch time of the last batch that gave it an event time

    friend bool operator==(const Partition&, const Partition&) = default;
  };
  // The watermark after the last committed batch; it never decreases.
  int64_t watermark = kNoTime;
  std::map<int32_t, Partition> partitions;

  // The greatest event time of any partition (kNoTime: none).
  int64_t MaxEventTime() const;

  // The watermark of a batch at `batch_time_ms` that lists the partitions of `ranges`: the
  // minimum over the active partitions of their max event time, minus the allowed lateness; if
  // every partition is idle, the maximum over them; never below `watermark`. A partition that
  // is listed but unknown counts as active with no event time (it holds the watermark back
  // until it is idle). kNoTime if there is none.
  int64_t WatermarkAt(const std::vector<OffsetRange>& ranges, int64_t batch_time_ms,
                      const WatermarkPolicy& policy) const;

  // Records a batch at `batch_time_ms`: every partition of `ranges` becomes known; the ones in
  // `seen` (partition -> greatest event time of its records in the batch that were not late,
  // kNoTime if all were) gave event times and are active at the batch's time.
  void Advance(const std::vector<OffsetRange>& ranges, int64_t batch_time_ms,
               const std::map<int32_t, int64_t>& seen);

  // Encoding for the state store: version byte 1, zigzag varint watermark, varint n, n x
  // {varint partition, zigzag max_event_time, zigzag last_active_ms}.
  std::string Encode() const;
  static Result<EventTimes> Decode(std::string_view bytes);

  friend bool operator==(const EventTimes&, const EventTimes&) = default;
};

}  // namespace onceflow::operators
