// The Nexmark generator's event rate over event time: constant, or shaped in steps as the
// reference generator's rate shapes (Apache Beam's NexmarkUtils.RateShape, GeneratorConfig).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onceflow/options.h"

namespace onceflow::source::nexmark {

// A shaped rate as steps of equal length in event time; each step has its own gap between
// events. One epoch (one period) is all the steps; the epochs repeat.
struct RateSteps {
  std::vector<int64_t> gap_ns;       // per step: 1e9 / the step's rate, rounded
  std::vector<int64_t> step_events;  // per step: the events that fit the step (length / gap)
  int64_t epoch_events = 0;          // sum of step_events
  int64_t epoch_ms = 0;              // sum over the steps of step_events * gap_ns / 1e6
};

// The steps of options.rate_shape (square: 2, sine: 10), each rate_period_s / steps seconds
// long (rounded up). Square: events_per_second, then next_events_per_second. Sine: step i at
// round(mid + amp * cos(2 pi i / 10)), mid and amp half the sum and half the difference of
// the two rates. REQUIRES: a shaped rate, options valid.
RateSteps StepsOf(const NexmarkSourceOptions& options);

// The event time of event number m (before any out-of-order permutation): constant:
// base_time_ms + m * 1000 / events_per_second; shaped: base_time_ms + (m / epoch_events) *
// epoch_ms, plus the whole steps before m's in its epoch (step_events * gap_ns / 1e6 ms
// each), plus (m's place in its step) * gap_ns / 1e6.
int64_t RateTimeOf(const NexmarkSourceOptions& options, int64_t m);

// "" if the rate settings are usable, else what is wrong, naming the TOML key.
std::string ValidateRate(const NexmarkSourceOptions& options);

}  // namespace onceflow::source::nexmark
