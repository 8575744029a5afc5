// Outage: the backoff, the lines, and the waits that a Stop cuts short.
#include "engine/outage.h"

#include <algorithm>
#include <thread>

#include "util/file.h"

namespace onceflow::engine {
namespace {

constexpr auto kFirstDelay = std::chrono::milliseconds(50);
constexpr auto kMaxDelay = std::chrono::milliseconds(5000);
constexpr auto kStillEvery = std::chrono::seconds(30);
constexpr auto kStopCheck = std::chrono::milliseconds(10);

}  // namespace

OutageMessages PlanningOutageMessages() {
  OutageMessages m;
  m.first = [](const std::string& what) {
    return "planning failed, retrying until it works: " + what;
  };
  m.still = [](int64_t seconds, int64_t /*retries*/, const std::string& what) {
    return "planning still failing after " + std::to_string(seconds) + " s: " + what;
  };
  m.recovered = [](int64_t ms) {
    return "planning works again after " + std::to_string(ms) + " ms";
  };
  return m;
}

OutageMessages DiskFullOutageMessages() {
  OutageMessages m;
  // From "disk full: PATH" on: the batch's context before it says nothing the operator needs.
  m.what = [](const Status& s) {
    const size_t at = s.message().find(kDiskFull);
    return at == std::string::npos ? s.message() : s.message().substr(at);
  };
  m.first = [](const std::string& what) {
    return what + "; retrying until writes succeed again (nothing committed is lost)";
  };
  m.still = [](int64_t seconds, int64_t retries, const std::string& what) {
    return "disk still full after " + std::to_string(seconds) + " s (" + std::to_string(retries) +
           " retries): " + what;
  };
  return m;
}

Outage::Outage(OutageMessages messages, LogFn log)
    : messages_(std::move(messages)), log_(std::move(log)) {}

bool Outage::Wait(const Status& s, const std::atomic<bool>* stop) {
  const auto now = std::chrono::steady_clock::now();
  const std::string what = messages_.what ? messages_.what(s) : s.ToString();
  if (retries_ == 0) {
    since_ = logged_ = now;
    log_(messages_.first(what));
  } else if (now - logged_ > kStillEvery) {
    logged_ = now;
    log_(messages_.still(std::chrono::duration_cast<std::chrono::seconds>(now - since_).count(),
                         retries_, what));
  }
  ++retries_;
  delay_ = std::clamp(delay_ * 2, std::chrono::milliseconds(kFirstDelay),
                      std::chrono::milliseconds(kMaxDelay));
  const auto until = std::chrono::steady_clock::now() + delay_;
  while (std::chrono::steady_clock::now() < until) {
    if (stop != nullptr && stop->load()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        kStopCheck, until - std::chrono::steady_clock::now()));
  }
  return stop == nullptr || !stop->load();
}

void Outage::Reset() {
  if (retries_ == 0) return;
  if (messages_.recovered) {
    log_(messages_.recovered(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - since_)
                                 .count()));
  }
  retries_ = 0;
  delay_ = std::chrono::milliseconds(0);
}

}  // namespace onceflow::engine
