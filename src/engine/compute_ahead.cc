// ComputeAhead: the next batch's map tasks, computed while this batch commits.
#include "engine/compute_ahead.h"

#include <utility>

#include "util/check.h"

namespace onceflow::engine {

void ComputeAhead::Start(checkpoint::BatchIntent planned, std::vector<Offset> end,
                         bool after_state_step) {
  // Replacing a held batch would drop a computed batch, or run two computations at once.
  ONCEFLOW_CHECK(next_ == nullptr) << "a batch computed ahead is still held";
  next_ = std::make_unique<Batch>();
  next_->planned = std::move(planned);
  next_->end = std::move(end);
  if (after_state_step) {
    waiting_ = true;
  } else {
    Launch();
  }
}

void ComputeAhead::StateStepDone() {
  if (waiting_) Launch();
}

void ComputeAhead::Launch() {
  waiting_ = false;
  Batch* b = next_.get();
  b->outputs = std::async(std::launch::async, [this, b] { return compute_(b->planned); });
}

std::unique_ptr<ComputeAhead::Batch> ComputeAhead::Take() {
  DropWaiting();
  std::unique_ptr<Batch> b = std::move(next_);
  if (b != nullptr && !b->outputs.valid()) b.reset();  // never started: plan anew
  return b;
}

void ComputeAhead::DropWaiting() {
  if (!waiting_) return;
  waiting_ = false;
  next_.reset();
}

void ComputeAhead::Wait() {
  if (next_ != nullptr && next_->outputs.valid()) next_->outputs.wait();
}

}  // namespace onceflow::engine
