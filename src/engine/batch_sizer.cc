// BatchSizer: the batch-size feedback controller.
#include "engine/batch_sizer.h"

#include <algorithm>

namespace onceflow::engine {

BatchSizer::BatchSizer(int64_t ceiling, bool adaptive)
    : ceiling_(std::max<int64_t>(1, ceiling)),
      floor_(std::min(ceiling_, kFloor)),
      adaptive_(adaptive && ceiling_ > floor_),
      limit_(adaptive_ ? floor_ : ceiling_) {}

int64_t BatchSizer::Step(int64_t limit, int direction) const {
  if (direction > 0) return limit > ceiling_ / 2 ? ceiling_ : limit * 2;
  return std::max(floor_, limit / 2);
}

double BatchSizer::RateOf(int64_t limit) const {
  auto it = rates_.find(limit);
  return it == rates_.end() ? 0 : it->second;
}

void BatchSizer::Settle(int64_t best) {
  climbing_ = false;
  best_ = best;
  probe_ = 0;
  since_probe_ = 0;
  limit_ = best;
}

void BatchSizer::Observe(int64_t limit, int64_t records, bool full, double seconds) {
  if (!adaptive_ || !full || records <= 0 || !(seconds > 0)) return;
  const double rate = static_cast<double>(records) / seconds;
  rates_[limit] = rate;
  if (climbing_) {
    if (limit != limit_) return;  // planned before the last step
    const int64_t before = Step(limit, -direction_);
    const double before_rate = before == limit ? 0 : RateOf(before);
    // On only while clearly faster: a flat stretch is noise, and the smaller size commits sooner.
    if (before_rate > 0 && rate <= before_rate * (1 + kTolerance)) {
      return Settle(rate > before_rate ? limit : before);
    }
    const int64_t next = Step(limit, direction_);
    if (next == limit) return Settle(rate >= before_rate ? limit : before);
    limit_ = next;
    return;
  }
  if (probe_ != 0 && limit == probe_) {
    probe_ = 0;
    if (rate > RateOf(best_) * (1 + kTolerance)) {
      // The neighbour is faster: climb on that way from it.
      climbing_ = true;
      direction_ = limit > best_ ? 1 : -1;
      const int64_t next = Step(limit, direction_);
      if (next == limit) return Settle(limit);
      limit_ = next;
      return;
    }
    limit_ = best_;
    return;
  }
  if (limit != best_ || probe_ != 0) return;
  if (++since_probe_ < kProbeEvery) return;
  since_probe_ = 0;
  int64_t probe = Step(best_, probe_up_ ? 1 : -1);
  if (probe == best_) probe = Step(best_, probe_up_ ? -1 : 1);  // at a bound: the other side
  probe_up_ = !probe_up_;
  if (probe == best_) return;
  probe_ = probe;
  limit_ = probe;
}

}  // namespace onceflow::engine
