// The Nexmark rate shapes. The arithmetic is the reference's (GeneratorConfig's
// timestampAndInterEventDelayUsForEvent), in nanoseconds where it uses microseconds, so that
// rates up to 10^9 events/s keep a gap of at least 1.
#include "source/nexmark_rate.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace onceflow::source::nexmark {
namespace {

constexpr int kSineSteps = 10;  // the reference's N
constexpr int64_t kMaxShapedRate = 1'000'000'000;
constexpr int64_t kMaxPeriodS = 1'000'000;

int64_t GapNs(int64_t rate) { return (1'000'000'000 + rate / 2) / rate; }

// The steps of the last shape asked for, per thread: a generator thread asks for the same
// options for every event, and making the steps costs ten cosines.
struct CachedSteps {
  NexmarkRateShape shape = NexmarkRateShape::kConstant;
  int64_t first = 0, next = 0, period = 0;
  RateSteps steps;
};

const RateSteps& CachedStepsOf(const NexmarkSourceOptions& o) {
  thread_local CachedSteps cache;
  if (cache.shape != o.rate_shape || cache.first != o.events_per_second ||
      cache.next != o.next_events_per_second || cache.period != o.rate_period_s) {
    cache.steps = StepsOf(o);
    cache.shape = o.rate_shape;
    cache.first = o.events_per_second;
    cache.next = o.next_events_per_second;
    cache.period = o.rate_period_s;
  }
  return cache.steps;
}

}  // namespace

RateSteps StepsOf(const NexmarkSourceOptions& o) {
  RateSteps s;
  std::vector<int64_t> rates;
  if (o.rate_shape == NexmarkRateShape::kSquare) {
    rates = {o.events_per_second, o.next_events_per_second};
  } else {
    const double mid = static_cast<double>(o.events_per_second + o.next_events_per_second) / 2;
    const double amp = static_cast<double>(o.events_per_second - o.next_events_per_second) / 2;
    for (int i = 0; i < kSineSteps; ++i) {
      const double r = 2.0 * std::numbers::pi * i / kSineSteps;
      rates.push_back(std::max<int64_t>(1, std::llround(mid + amp * std::cos(r))));
    }
  }
  const auto n = static_cast<int64_t>(rates.size());
  const int64_t step_ns = (o.rate_period_s + n - 1) / n * 1'000'000'000;
  for (int64_t rate : rates) {
    const int64_t gap = GapNs(rate);
    const int64_t events = step_ns / gap;
    s.gap_ns.push_back(gap);
    s.step_events.push_back(events);
    s.epoch_events += events;
    s.epoch_ms += events * gap / 1'000'000;
  }
  return s;
}

int64_t RateTimeOf(const NexmarkSourceOptions& o, int64_t m) {
  if (o.rate_shape == NexmarkRateShape::kConstant) {
    return o.base_time_ms + m * 1000 / o.events_per_second;
  }
  const RateSteps& s = CachedStepsOf(o);
  int64_t t = o.base_time_ms + (m / s.epoch_events) * s.epoch_ms;
  int64_t k = m % s.epoch_events;
  for (size_t i = 0; i < s.gap_ns.size(); ++i) {
    if (k < s.step_events[i]) return t + k * s.gap_ns[i] / 1'000'000;
    k -= s.step_events[i];
    t += s.step_events[i] * s.gap_ns[i] / 1'000'000;
  }
  return t;  // not reached: k < epoch_events
}

std::string ValidateRate(const NexmarkSourceOptions& o) {
  if (o.rate_shape == NexmarkRateShape::kConstant) return "";
  const std::string limit = std::to_string(kMaxShapedRate);
  if (o.events_per_second > kMaxShapedRate) {
    return "source.events_per_second: must be at most " + limit + " with a rate_shape, got " +
           std::to_string(o.events_per_second);
  }
  if (o.next_events_per_second < 1 || o.next_events_per_second > kMaxShapedRate) {
    return "source.next_events_per_second: must be between 1 and " + limit +
           " with a rate_shape, got " + std::to_string(o.next_events_per_second);
  }
  if (o.rate_period_s < 1 || o.rate_period_s > kMaxPeriodS) {
    return "source.rate_period_s: must be between 1 and " + std::to_string(kMaxPeriodS) + ", got " +
           std::to_string(o.rate_period_s);
  }
  return "";
}

}  // namespace onceflow::source::nexmark
