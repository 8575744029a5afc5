// A Row as a compact JSON object: the text of Row::ToJson, appended to a caller's buffer.
#pragma once

#include <string>

#include "onceflow/row.h"

namespace onceflow {

// Appends `row` as Row::ToJson() writes it (fields in row order; strings JSON-escaped with
// their bytes that are not UTF-8 kept, so that no byte of the data is lost) to `*out`. A writer
// of many rows reuses one buffer instead of a new string per row.
void AppendRowJson(std::string* out, const Row& row);

}  // namespace onceflow
