// The figures every benchmark reports: durations in seconds, medians of repetitions and
// percentiles of latencies (nearest rank), and the clock they are taken with. Header-only, for
// the programs in bench/.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace onceflow::bench {

inline double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The steady clock in nanoseconds.
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The middle value (the upper one of an even count); 0 for none.
inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The value at fraction `p` (0..1) of the sorted samples; 0 for none.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace onceflow::bench
