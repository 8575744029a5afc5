// SignalWatcher: turns SIGINT and SIGTERM into calls on a dedicated thread that waits for them
// with sigtimedwait on a blocked signal set, so that no work runs inside an async signal handler.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

namespace onceflow::cli {

// Lifecycle: the constructor blocks SIGINT and SIGTERM in the calling thread — every thread
// created afterwards inherits the mask, so the signals are only ever taken by the watcher —
// and starts the watching thread; the destructor wakes and joins it.
//
// Calls, all on the watching thread: on_signal(signo) for every SIGINT or SIGTERM received, and
// on_tick() every `tick` while no signal arrives (a callback that must repeat a request can do it
// there).
//
// The signals stay blocked after destruction: one that arrives once the work is over stays
// pending instead of killing a process that is finishing anyway.
//
// REQUIRES: constructed before the process starts the threads that must not take the signals.
class SignalWatcher {
 public:
  SignalWatcher(std::function<void(int signo)> on_signal, std::function<void()> on_tick,
                std::chrono::milliseconds tick);
  ~SignalWatcher();

  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void Loop();

  sigset_t set_;
  const std::function<void(int)> on_signal_;
  const std::function<void()> on_tick_;
  const std::chrono::milliseconds tick_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace onceflow::cli
