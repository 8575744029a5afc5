// Prometheus rendering of the receiver's metrics.
#include "receiver/metrics.h"

#include <cstdio>

namespace onceflow::receiver {

std::string_view RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kBadRequest: return "bad_request";
    case RejectReason::kUnauthorized: return "unauthorized";
    case RejectReason::kUnknownTopic: return "unknown_topic";
    case RejectReason::kTooLarge: return "too_large";
    case RejectReason::kSequence: return "sequence";
    case RejectReason::kOverloaded: return "overloaded";
    case RejectReason::kDiskFull: return "disk_full";
    case RejectReason::kInternal: return "internal";
    case RejectReason::kCount: break;
  }
  return "unknown";
}

void ReceiverMetrics::OnAppended(uint64_t records, uint64_t bytes, double append_seconds) {
  records_.fetch_add(records, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && append_seconds > kBuckets[b]) ++b;
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_.fetch_add(static_cast<uint64_t>(append_seconds * 1e6), std::memory_order_relaxed);
}

void ReceiverMetrics::OnAck(bool duplicate) {
  acks_.fetch_add(1, std::memory_order_relaxed);
  if (duplicate) duplicates_.fetch_add(1, std::memory_order_relaxed);
}

void ReceiverMetrics::OnRejected(RejectReason reason) {
  rejected_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

std::string ReceiverMetrics::RenderPrometheus() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  counter("onceflow_receiver_records_total", "Records appended durably.", load(records_));
  counter("onceflow_receiver_bytes_total", "Record value bytes appended durably.", load(bytes_));
  counter("onceflow_receiver_acks_total",
          "Requests acknowledged (200), repeats of stored requests included.", load(acks_));
  counter("onceflow_receiver_duplicates_total",
          "Repeats of an already stored (producer, sequence), answered without storing.",
          load(duplicates_));
  out += "# HELP onceflow_receiver_rejected_total Requests refused, by reason.\n"
         "# TYPE onceflow_receiver_rejected_total counter\n";
  for (size_t r = 0; r < rejected_.size(); ++r) {
    out += "onceflow_receiver_rejected_total{reason=\"" +
           std::string(RejectReasonName(static_cast<RejectReason>(r))) + "\"} " +
           std::to_string(load(rejected_[r])) + "\n";
  }
  out += "# HELP onceflow_receiver_in_flight_bytes Request bytes admitted and not yet answered.\n"
         "# TYPE onceflow_receiver_in_flight_bytes gauge\nonceflow_receiver_in_flight_bytes " +
         std::to_string(load(in_flight_bytes_)) + "\n";
  const char* h = "onceflow_receiver_append_seconds";
  out += std::string("# HELP ") + h +
         " Time from handing a request's batch to the log to its group commit's fdatasync "
         "(the wait before an acknowledgement).\n# TYPE " +
         h + " histogram\n";
  uint64_t cumulative = 0;
  char le[32];
  for (size_t b = 0; b < buckets_.size(); ++b) {
    cumulative += load(buckets_[b]);
    if (b < kBuckets.size()) {
      std::snprintf(le, sizeof(le), "%g", kBuckets[b]);
    } else {
      std::snprintf(le, sizeof(le), "+Inf");
    }
    out += std::string(h) + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  char sum[64];
  std::snprintf(sum, sizeof(sum), "%.6f", static_cast<double>(load(latency_sum_us_)) / 1e6);
  out += std::string(h) + "_sum " + sum + "\n" + h + "_count " +
         std::to_string(load(latency_count_)) + "\n";
  return out;
}

}  // namespace onceflow::receiver
