// A Nexmark event as the Row the JSON decoder makes of its JSON text (nexmark::AppendJson), made
// directly: the source hands the engine these rows, with no text written and parsed again.
#pragma once

#include "onceflow/row.h"
#include "source/nexmark_model.h"

namespace onceflow::source::nexmark {

// Fills *row with `event`'s fields: the same names, order and values (integers as int64,
// strings as strings) as RecordDecoder's JSON format makes of AppendJson(event, with_type).
// A row that already holds an event of the same type keeps its fields' memory (names and
// strings are assigned in place); any other row is cleared first. *row owns its strings:
// it stays valid after `event` changes.
void FillRow(const Event& event, bool with_type, Row* row);

}  // namespace onceflow::source::nexmark
