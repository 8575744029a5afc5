// HttpWorkerPool: the worker threads of the HTTP receiver, taking connections whose whole
// request head has arrived from a queue.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "receiver/http_conn_stream.h"

namespace onceflow::receiver {

// The queue holds at most one entry per connection: its length is bounded by the connections
// open at once. Lifecycle: Start once, Push any number of times, Shutdown once (it serves what
// is queued, then joins the threads). Thread-safety: Push from any thread.
class HttpWorkerPool {
 public:
  // Starts `threads` threads, each running `work` for one connection at a time.
  void Start(int threads, const std::function<void(HttpConn*)>& work);
  void Push(HttpConn* c);
  // Serves what is queued, then joins the threads.
  void Shutdown();

 private:
  // The next connection, or nullptr once shut down with nothing queued.
  HttpConn* Take();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<HttpConn*> queue_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace onceflow::receiver
