// RunKillLoop: Process::KillAfter in a loop, with seeded random delays.
#include "testing/kill_loop.h"

#include <gtest/gtest.h>

#include <random>

namespace onceflow::testing {

KillLoopResult RunKillLoop(const KillLoopOptions& options,
                           const std::function<std::unique_ptr<Process>()>& start,
                           const std::function<void()>& on_finished,
                           const std::function<void(int kill, Process& child)>& after_kill) {
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<int64_t> delay_ms(options.min_delay.count(),
                                                  options.max_delay.count());
  KillLoopResult result;
  while (result.kills < options.kills) {
    std::unique_ptr<Process> child = start();
    const int code = child->KillAfter(std::chrono::milliseconds(delay_ms(rng)));
    if (code != -1) {
      // It finished first: with 0, or the test fails (fatally: the caller stops).
      [&] { ASSERT_EQ(code, 0) << child->err(); }();
      if (code != 0) return result;
      ++result.finished;
      on_finished();
    } else {
      ++result.kills;
      after_kill(result.kills, *child);
    }
    if (::testing::Test::HasFatalFailure()) return result;
  }
  return result;
}

}  // namespace onceflow::testing
