// Outage: how the driver waits out a transient failure of its source or sink while planning (a
// broker restarting, a leader moving, the sink's server away) instead of stopping the pipeline.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "onceflow/status.h"

namespace onceflow::engine {

// Planning through a transient outage of the source or the sink: waits with backoff (50 ms
// doubling to 5 s), logging the first failure, then one line every 30 s, and the recovery.
class Outage {
 public:
  using LogFn = std::function<void(const std::string&)>;
  void Wait(const Status& s, const LogFn& log) {
    const auto now = std::chrono::steady_clock::now();
    if (delay_.count() == 0) {
      since_ = now;
      log("planning failed, retrying until it works: " + s.ToString());
      logged_ = now;
    } else if (now - logged_ > std::chrono::seconds(30)) {
      log("planning still failing after " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - since_).count()) +
          " s: " + s.ToString());
      logged_ = now;
    }
    delay_ = std::clamp(delay_ * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(5000));
    std::this_thread::sleep_for(delay_);
  }
  void Reset(const LogFn& log) {
    if (delay_.count() == 0) return;
    log("planning works again after " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - since_)
                           .count()) +
        " ms");
    delay_ = std::chrono::milliseconds(0);
  }

 private:
  std::chrono::milliseconds delay_{0};
  std::chrono::steady_clock::time_point since_, logged_;
};

}  // namespace onceflow::engine
