// SignalWatcher: sigtimedwait on a blocked SIGINT/SIGTERM set, in a thread of its own.
#include "cli/signal_watcher.h"

#include <cerrno>
#include <ctime>

namespace onceflow::cli {

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal, std::function<void()> on_tick,
                             std::chrono::milliseconds tick)
    : on_signal_(std::move(on_signal)), on_tick_(std::move(on_tick)), tick_(tick) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

SignalWatcher::~SignalWatcher() {
  done_.store(true);
  // A signal aimed at the watching thread wakes its wait at once; it sees done_ and returns.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void SignalWatcher::Loop() {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(tick_);
  const timespec timeout{static_cast<time_t>(seconds.count()),
                         static_cast<long>((tick_ - seconds).count() * 1000000)};
  while (!done_.load()) {
    siginfo_t info;
    const int signo = sigtimedwait(&set_, &info, &timeout);
    if (done_.load()) break;
    if (signo > 0) {
      on_signal_(signo);
    } else if (errno == EAGAIN) {
      if (on_tick_) on_tick_();
    }
    // EINTR (another signal's handler ran): wait again.
  }
}

}  // namespace onceflow::cli
