// The driver's keyed-state duties: opening the state store, the recovery rule that starts at
// the state marker (docs/protocol.md "Recovery"), and the watermark of a new batch.
#include <algorithm>

#include "engine/driver.h"

namespace onceflow::engine {

Status Driver::OpenState() {
  if (!spec_.keyed) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(state_, StateStep::Open(checkpoint_->dir(), spec_.keyed, executor_.get(),
                                           spec_.config.state_tasks,
                                           static_cast<size_t>(spec_.config.state_cache_mb) << 20));
  return Status::Ok();
}

bool Driver::StateHolds(const checkpoint::BatchIntent& intent) const {
  return state_ && state_->store().batch() >= intent.batch;
}

void Driver::SetWatermark(checkpoint::BatchIntent* intent) const {
  if (!state_) return;
  intent->max_event_time_ms = state_->NextMaxEventTime();
  intent->watermark_ms = state_->NextWatermark(intent->ranges, intent->batch_time_ms);
}

Status Driver::CheckStateAtRecovery(const std::map<int32_t, sink::TaskProgress>& progress) const {
  if (!state_) return Status::Ok();
  const BatchId state_batch = state_->store().batch();
  const auto& intent = checkpoint_->last_intent();
  const bool unfinished = checkpoint_->has_unfinished_batch();
  const int64_t last = intent ? intent->batch.value() : -1;
  // The protocol's order (intent, sink, state, commit) allows exactly these states.
  const bool consistent = unfinished ? (state_batch.value() == last || state_batch.value() == last - 1)
                                     : state_batch.value() == last;
  const std::string where = "state store " + state_->store().dir();
  if (!consistent) {
    return Status::Corruption(
        where + " is at batch " + state_batch.ToString() + " but the checkpoint's last batch is " +
        std::to_string(last) + (unfinished ? " (unfinished)" : " (done)") +
        ": the state cannot be rebuilt from the sink. Was the state directory deleted or "
        "restored from another copy, or an aggregate added to a pipeline that already ran? " +
        WayOut() + ", or give the pipeline a new name");
  }
  // A stateful pipeline commits as task 0 with all its ranges.
  auto it = progress.find(0);
  if (it == progress.end()) return Status::Ok();
  const sink::TaskProgress& sink_progress = it->second;
  if (sink_progress.last_batch.value() > last) {
    return Status::Corruption(
        "sink holds batch " + sink_progress.last_batch.ToString() + " but the checkpoint and " +
        where + " end at batch " + std::to_string(last) +
        ": the checkpoint directory was lost or restored, and keyed state cannot be rebuilt "
        "from the sink's output. " + WayOut() + ", or give the pipeline a new name");
  }
  if (unfinished && sink_progress.last_batch == intent->batch) {
    // The batch the sink holds but the state lacks is re-run from its intent: check that the
    // sink recorded the same ranges (the progress row keeps each batch's start and end).
    auto nonempty = [](std::vector<OffsetRange> r) {
      std::erase_if(r, [](const OffsetRange& x) { return x.from == x.until; });
      return r;
    };
    if (nonempty(sink_progress.ranges) != nonempty(intent->ranges)) {
      return Status::Corruption("batch " + intent->batch.ToString() +
                                ": the sink's progress row records other input ranges than the "
                                "checkpoint's intent; refusing to re-run it");
    }
  }
  return Status::Ok();
}

}  // namespace onceflow::engine
