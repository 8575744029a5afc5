// HttpWorkerPool: threads that serve the queued connections.
#include "receiver/http_worker_pool.h"

namespace onceflow::receiver {

void HttpWorkerPool::Start(int threads, const std::function<void(HttpConn*)>& work) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, work] {
      while (HttpConn* c = Take()) work(c);
    });
  }
}

void HttpWorkerPool::Push(HttpConn* c) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(c);
  }
  cv_.notify_one();
}

void HttpWorkerPool::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

HttpConn* HttpWorkerPool::Take() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || shutdown_; });
  if (queue_.empty()) return nullptr;
  HttpConn* c = queue_.front();
  queue_.pop_front();
  return c;
}

}  // namespace onceflow::receiver
