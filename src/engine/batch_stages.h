// Whole-batch operators (PipelineBuilder::MapBatch and its kin): a map task's rows run through
// a batch function at once, and the idempotency key of a (pipeline, task, batch).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/dead_letter.h"
#include "dataplane/sink_row.h"
#include "engine/pipeline_spec.h"
#include "onceflow/offset_range.h"
#include "onceflow/pipeline.h"

namespace onceflow::engine {

// "<pipeline>.b<batch>.t<task>.<16 hex digits of a hash of the ranges>" ("all" in place of
// t<task> when task < 0): the same for every attempt and re-run of the batch, since the ranges
// are the batch's recorded ones.
std::string IdempotencyKey(std::string_view pipeline, int32_t task, BatchId batch,
                           std::span<const OffsetRange> ranges);

// Runs one map task's rows (in offset order, each with the record it came from) through
// `stages`, whose first stage is a batch function: batch functions get all the rows at once,
// the row operators between them each row (a row one of them fails becomes a dead letter, as
// in ApplyStages); a batch function is not called when no rows are left. Rows a batch function
// refuses (BatchOutput::rejected) go to `*dead`.
// Returns a retryable error naming the operator when a batch function fails, throws or returns
// output that does not fit its input (the task attempt fails; the scheduler retries it).
// REQUIRES: stages[0].kind == kBatch.
Status ApplyBatchStages(std::span<const internal::Stage> stages, const BatchContext& ctx,
                        std::vector<SinkRow>* rows, std::vector<DeadLetter>* dead);

}  // namespace onceflow::engine
