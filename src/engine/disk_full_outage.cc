// DiskFullOutage.
#include "engine/disk_full_outage.h"

#include <algorithm>
#include <thread>

#include "util/file.h"

namespace onceflow::engine {

void DiskFullOutage::Log(const std::string& line) const {
  if (log_) {
    log_(line);
  } else {
    std::fprintf(stderr, "onceflow: %s: %s\n", pipeline_.c_str(), line.c_str());
  }
}

bool DiskFullOutage::Wait(const Status& s, const std::atomic<bool>& stop) {
  const auto now = std::chrono::steady_clock::now();
  // From "disk full: PATH" on: the batch's context before it says nothing the operator needs.
  const size_t at = s.message().find(kDiskFull);
  const std::string what = at == std::string::npos ? s.message() : s.message().substr(at);
  if (retries_ == 0) {
    since_ = logged_ = now;
    Log(what + "; retrying until writes succeed again (nothing committed is lost)");
  } else if (now - logged_ > std::chrono::seconds(30)) {
    logged_ = now;
    Log("disk still full after " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - since_).count()) +
        " s (" + std::to_string(retries_) + " retries): " + what);
  }
  ++retries_;
  delay_ = std::clamp(delay_ * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(5000));
  // In short steps, so that a Stop (SIGTERM) is not held up by the backoff.
  const auto until = std::chrono::steady_clock::now() + delay_;
  while (std::chrono::steady_clock::now() < until) {
    if (stop.load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return !stop.load();
}

}  // namespace onceflow::engine
