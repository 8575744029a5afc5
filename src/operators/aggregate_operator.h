// AggregateOperator: running aggregates per key (count, sum, min, max, avg), optionally per
// tumbling or sliding event-time window, as the `aggregate` transform and
// PipelineBuilder::Aggregate configure them (AggregateConfig).
//
// State per key (or per key and window): the accumulators, in the state store. Output per batch:
// one row per key (or window) the batch changed — the key fields, the aggregates and, windowed,
// window_start and window_end — or, with emit = "final", one row per window once the watermark
// passes its end. A window's state is deleted when the watermark passes its end.
//
// Map-side combining (KeyedOperator::NewCombiner): without min/max, each map task folds its
// rows per key (and window) and the state tasks merge the partials: counts and integer sums
// come out exactly as a fold row by row; see Merge (aggregate_acc.h) for float sums.
#pragma once

#include <memory>

#include "config/pipeline_config.h"
#include "operators/keyed_operator.h"

namespace onceflow::operators {

class AggregateOperator final : public KeyedOperator {
 public:
  // invalid_argument for a config that cannot work (no key, no aggregate, a bad window).
  static Result<std::unique_ptr<AggregateOperator>> Create(config::AggregateConfig config);

  Result<std::string> KeyOf(const Row& row) const override;
  // KeyOf into *key (cleared first), for a caller that keys every record with one buffer.
  Status KeyInto(const Row& row, std::string* key) const;
  bool on_event_time() const override { return config_.windowed; }
  Result<int64_t> EventTime(const Row& row) const override;
  int64_t allowed_lateness_ms() const override { return config_.window.allowed_lateness_ms; }
  int64_t idle_timeout_ms() const override { return config_.window.idle_timeout_ms; }
  bool emit_open_windows_at_end() const override {
    return config_.windowed && config_.window.emit_open_windows_at_end;
  }
  // The end of the latest window that holds max_event_time.
  int64_t CloseAllWatermark(int64_t max_event_time) const override;
  Status Run(std::vector<KeyedRow>& rows, StateTaskContext& ctx) const override;
  // Combines (config.combine) unless there is a min or max, whose fold can refuse a row.
  std::unique_ptr<MapCombiner> NewCombiner(BatchId batch, int64_t watermark_ms,
                                           int32_t state_tasks) const override;
  Status RunCombined(std::span<const CombinedTask* const> parts, int32_t task,
                     StateTaskContext& ctx) const override;

 private:
  explicit AggregateOperator(config::AggregateConfig config);

  const config::AggregateConfig config_;
  bool may_fail_fold_ = false;  // a min or max: values of two types may not compare
};

}  // namespace onceflow::operators
