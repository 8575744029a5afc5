// How log_append_bench prints its figures: medians of repetitions (ignoring the ones that did
// not measure), human-sized counts, fixed decimals with "-" for none, and what the machine was
// doing (load average, the file system under the data directory).
#pragma once

#include <string>
#include <vector>

namespace onceflow::bench {

// The median of `v` without its negative entries (-1: not measured in that repetition); the
// mean of the middle two of an even count; -1 when nothing was measured.
double MeasuredMedian(std::vector<double> v);

// "1.25M", "12.3k", "999"; "-" for a negative value.
std::string Human(double v);

// `v` with `decimals` decimals; "-" for a negative value.
std::string Fixed(double v, int decimals);

// "/proc/loadavg" as it reads, newline included.
std::string LoadAverage();

// The type of the file system holding `dir`: "ext4", "xfs", "tmpfs", ..., or its magic number.
std::string FsType(const std::string& dir);

}  // namespace onceflow::bench
