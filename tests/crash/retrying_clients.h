// Clients of `onceflow serve` for the receiver's crash tests: each sends records with unique ids
// ("c<client>-<n>") under its own producer id, retries every request until acknowledged (the
// server may be killed or lose power under it) or for kHangGuard at most, and collects what was
// acknowledged.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "receiver/http_client.h"
#include "testing/hang_guard.h"

namespace onceflow::testing {

// Lifecycle: the clients start sending at construction and go on until Finish (each ends after
// its current request, which it retries until acknowledged). A request that is not acknowledged
// within kHangGuard (a server that does not come back) is an error, and Abandon (also the
// destructor's, e.g. after a failed ASSERT) ends the retries at once: the test fails, it never
// hangs joining the clients. Thread-safety: one test thread.
class RetryingClients {
 public:
  RetryingClients(const std::string& url, const std::string& topic, int clients, int per_request)
      : clients_(clients) {
    for (int c = 0; c < clients; ++c) {
      threads_.emplace_back([this, url, topic, c, per_request] {
        Send(url, topic, c, per_request);
        ++done_;
      });
    }
  }
  ~RetryingClients() {
    Abandon();
    Finish();
  }
  RetryingClients(const RetryingClients&) = delete;
  RetryingClients& operator=(const RetryingClients&) = delete;

  // True once every client has ended (after StopAfterCurrent, or after an error).
  bool AllDone() const { return done_.load() == clients_; }
  // Tells the clients to end after their current request (which may need the server up).
  void StopAfterCurrent() { enough_.store(true); }
  // Ends the retries: a request not yet acknowledged fails (an error) at its next retry.
  void Abandon() { abandon_.store(true); }
  // StopAfterCurrent, and waits for the clients.
  void Finish() {
    StopAfterCurrent();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  // After Finish: what was acknowledged, requests that failed for good, and repeats the server
  // answered as duplicates (an earlier attempt was stored, its answer lost).
  const std::set<std::string>& acked() const { return acked_; }
  int errors() const { return errors_.load(); }
  // The first error (client and message), "" if none.
  std::string first_error() const {
    std::lock_guard lock(mu_);
    return first_error_;
  }
  int duplicates() const { return duplicates_.load(); }

 private:
  void Send(const std::string& url, const std::string& topic, int c, int per_request) {
    receiver::HttpProducerOptions o;
    o.url = url;
    o.topic = topic;
    o.producer_id = "client-" + std::to_string(c);
    o.timeout = std::chrono::seconds(10);
    std::chrono::steady_clock::time_point give_up_at;  // of the request being sent
    o.give_up = [this, &give_up_at] {
      return abandon_.load() || std::chrono::steady_clock::now() > give_up_at;
    };
    auto p = receiver::HttpProducer::Create(o);
    if (!p.has_value()) {
      Error(c, p.error().ToString());
      return;
    }
    for (int q = 0; !enough_.load(); ++q) {
      std::vector<std::string> ids;
      for (int k = 0; k < per_request; ++k) {
        ids.push_back("c" + std::to_string(c) + "-" + std::to_string(q * per_request + k));
      }
      std::vector<std::string_view> views(ids.begin(), ids.end());
      give_up_at = std::chrono::steady_clock::now() + kHangGuard;
      auto ack = (*p)->Send(views);  // retries until acknowledged, or given up
      if (!ack.has_value()) {
        Error(c, ack.error().ToString());
        return;
      }
      if (ack->duplicate) ++duplicates_;
      std::lock_guard lock(mu_);
      acked_.insert(ids.begin(), ids.end());
    }
  }

  void Error(int c, const std::string& message) {
    std::lock_guard lock(mu_);
    if (errors_++ == 0) first_error_ = "client " + std::to_string(c) + ": " + message;
  }

  const int clients_;
  std::vector<std::thread> threads_;
  std::atomic<bool> enough_{false}, abandon_{false};
  std::atomic<int> done_{0}, errors_{0}, duplicates_{0};
  mutable std::mutex mu_;
  std::set<std::string> acked_;  // guarded by mu_ while the clients run
  std::string first_error_;      // guarded by mu_
};

}  // namespace onceflow::testing
