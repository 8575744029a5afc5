// The JSON of the batch history (include/onceflow/batch_history.h) as the UI's API answers it:
// field names are the struct's, phases, partitions and tasks nested.
#pragma once

#include "onceflow/batch_history.h"
#include "ui/json_writer.h"

namespace onceflow::ui {

// Writes `b` as one JSON object: every field, `phases` and `partitions`; `tasks` only when
// `with_tasks` (the batch's own page; lists leave them out).
void WriteBatchRecord(JsonWriter& w, const BatchRecord& b, bool with_tasks);
void WritePartitionProgress(JsonWriter& w, const PartitionProgress& p);
void WritePhases(JsonWriter& w, const PhaseDurations& p);

}  // namespace onceflow::ui
