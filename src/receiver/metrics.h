// ReceiverMetrics: the receiver's counters and its append-latency histogram, rendered in the
// Prometheus text format for `GET /metrics`.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace onceflow::receiver {

// Why a request was refused; each reason is a label value of onceflow_receiver_rejected_total.
enum class RejectReason {
  kBadRequest,    // malformed framing, headers or JSON
  kUnauthorized,  // missing or wrong token
  kUnknownTopic,
  kTooLarge,    // body or frame over the limit
  kSequence,    // sequence gap, unknown producer, overlap
  kOverloaded,  // in-flight bytes over the limit: 503
  kDiskFull,    // the log's write found no space: 507, retry later
  kInternal,    // the log failed
  kCount,
};
std::string_view RejectReasonName(RejectReason r);

// Thread-safe: every member is a relaxed atomic.
class ReceiverMetrics {
 public:
  // Upper bounds, in seconds, of the append-latency histogram's buckets (+Inf implied).
  static constexpr std::array<double, 14> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

  void OnAppended(uint64_t records, uint64_t bytes, double append_seconds);
  void OnAck(bool duplicate);
  void OnRejected(RejectReason reason);
  void AddInFlight(int64_t bytes) { in_flight_bytes_.fetch_add(bytes, std::memory_order_relaxed); }

  uint64_t records() const { return records_.load(std::memory_order_relaxed); }
  uint64_t acks() const { return acks_.load(std::memory_order_relaxed); }
  uint64_t rejected(RejectReason r) const {
    return rejected_[static_cast<size_t>(r)].load(std::memory_order_relaxed);
  }

  // The Prometheus text exposition (version 0.0.4) of every metric.
  std::string RenderPrometheus() const;

 private:
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> acks_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<int64_t> in_flight_bytes_{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(RejectReason::kCount)> rejected_{};
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets_{};  // non-cumulative
  std::atomic<uint64_t> latency_count_{0};
  std::atomic<uint64_t> latency_sum_us_{0};
};

}  // namespace onceflow::receiver
