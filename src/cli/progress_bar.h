// ProgressBar: the one-line progress bar of `run --until-caught-up` and `demo` on a terminal
// (records done of the backlog at start, rate and ETA), redrawn in place.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

namespace onceflow::cli {

// Whether the progress of a command goes to stderr as a bar: stderr is a terminal that can
// redraw a line (TERM is not "dumb"), and neither --no-progress nor ONCEFLOW_NO_PROGRESS (any
// non-empty value) asked for the plain lines.
bool ProgressBarWanted(bool no_progress_flag);

// One line of a bar of `width` columns at most, e.g.
//   "[##########..........]  50 % 500/1000 records, 250 records/s, ETA 0:02"
// `rate` in records per second (< 0: unknown, left out, as the ETA then); done beyond the
// total shows 100 %. A total of 0 (nothing to do, or unknown) shows the count and rate only.
std::string RenderProgressBar(int64_t done, int64_t total, double rate, int width);

// Lifecycle: Update after each step of progress (draws at most 5 times a second), Finish once
// (draws the final state and ends the line). Print puts a line of other output above the bar,
// Clear makes room for output written elsewhere.
// Thread-safety: all methods may be called from any thread (one mutex).
class ProgressBar {
 public:
  // Writes to `out` (stderr), which must outlive the bar. `total`: the backlog at start.
  explicit ProgressBar(int64_t total, std::FILE* out = stderr);
  ~ProgressBar();

  void Update(int64_t done);
  void Finish(int64_t done);
  // Clears the bar, writes `line` and a newline, and draws the bar again below it.
  void Print(const std::string& line);
  // Clears the bar's line (the next Update draws it again): before output to another stream
  // that shares the terminal, e.g. stdout.
  void Clear();

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

 private:
  using Clock = std::chrono::steady_clock;
  void DrawLocked(bool final);  // REQUIRES: mu_ held
  double RateLocked() const;    // records/s over the last seconds; -1 before two samples

  std::mutex mu_;
  const int64_t total_;
  std::FILE* const out_;
  const int width_;
  const Clock::time_point start_;
  int64_t done_ = 0;
  bool drawn_ = false, finished_ = false;
  Clock::time_point last_draw_;
  std::deque<std::pair<Clock::time_point, int64_t>> samples_;  // the rate's window
};

}  // namespace onceflow::cli
