// Executor: a fixed pool of threads that runs task attempts.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace onceflow::engine {

// Lifecycle: threads start in the constructor; the destructor runs every queued job, then joins.
// Thread-safety: Submit may be called from any thread.
class Executor {
 public:
  explicit Executor(int threads);
  ~Executor();

  void Submit(std::function<void()> job);
  int threads() const { return static_cast<int>(threads_.size()); }

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace onceflow::engine
