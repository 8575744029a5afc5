// DiskFullOutage: how Pipeline::Run waits out a full disk — says so once, naming the path,
// waits with backoff (50 ms doubling to 5 s), then lets the caller run the pipeline again.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "onceflow/status.h"

namespace onceflow::engine {

// Lifecycle: one per Pipeline::Run. Thread-safety: the driver thread only.
class DiskFullOutage {
 public:
  using LogFn = std::function<void(const std::string&)>;
  DiskFullOutage(LogFn log, std::string pipeline)
      : log_(std::move(log)), pipeline_(std::move(pipeline)) {}

  // Waits before the next attempt. The first full disk is said once ("<status>; retrying ...");
  // later ones once every 30 s. Returns false when `stop` was set meanwhile.
  bool Wait(const Status& s, const std::atomic<bool>& stop);

 private:
  void Log(const std::string& line) const;

  LogFn log_;
  std::string pipeline_;
  std::chrono::milliseconds delay_{0};
  int retries_ = 0;
  std::chrono::steady_clock::time_point since_, logged_;
};

}  // namespace onceflow::engine
