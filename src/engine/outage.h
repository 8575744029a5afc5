// Outage: how the engine waits out a transient failure instead of stopping the pipeline — the
// source or sink away while planning (a broker restarting, a leader moving, the sink's server
// away), or a full disk under Pipeline::Run.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "onceflow/status.h"

namespace onceflow::engine {

// What an Outage says. `what` is the part of the failing status worth saying.
struct OutageMessages {
  std::function<std::string(const Status&)> what;  // empty: Status::ToString
  // The first failure of an outage.
  std::function<std::string(const std::string& what)> first;
  // While it lasts, every 30 s: how long, and how many retries so far.
  std::function<std::string(int64_t seconds, int64_t retries, const std::string& what)> still;
  // When it is over (Reset after a failure); empty: no line.
  std::function<std::string(int64_t ms)> recovered;
};

// The driver's planning through an outage of the source or the sink.
OutageMessages PlanningOutageMessages();
// Pipeline::Run through a full disk: the path from "disk full: " on, and that nothing committed
// is lost.
OutageMessages DiskFullOutageMessages();

// Waits with backoff (50 ms doubling to 5 s), saying the first failure, then one line every
// 30 s, and (with messages.recovered) the recovery.
// Lifecycle: one per run of a loop that retries. Thread-safety: one thread.
class Outage {
 public:
  using LogFn = std::function<void(const std::string&)>;
  Outage(OutageMessages messages, LogFn log);

  // Waits before the next attempt after the failure `s`. Returns false as soon as `*stop` is
  // set (checked every 10 ms, so a Stop is not held up by the backoff); `stop` may be null.
  bool Wait(const Status& s, const std::atomic<bool>* stop);
  // The operation worked: ends the outage (saying so, if there was one).
  void Reset();

  int64_t retries() const { return retries_; }

 private:
  OutageMessages messages_;
  LogFn log_;
  std::chrono::milliseconds delay_{0};
  int64_t retries_ = 0;  // failures of the current outage; 0: none
  std::chrono::steady_clock::time_point since_, logged_;
};

}  // namespace onceflow::engine
