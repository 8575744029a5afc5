// The Kafka sink's progress marker (docs/formats/sink_progress.md): a task's progress row as a
// record of the compacted progress topic, key "<pipeline>/<task>", value
// "batch=N epoch=E ranges=R started=S source=SOURCE".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::sink {

// The marker's key: "<pipeline>/<task>".
std::string MarkerKey(const std::string& pipeline, int32_t task);

// "batch=N epoch=E ranges=R started=S source=SOURCE": the source last, as the rest of the
// value (it is opaque and may hold spaces).
std::string EncodeMarker(const TaskProgress& p);

// A marker back into a TaskProgress; invalid_argument says what is wrong. A marker of the
// first version ("batch=N epoch=E ranges=R", before starts and sources were recorded) reads
// with an unknown source and unknown starts.
Result<TaskProgress> DecodeMarker(std::string_view text);

}  // namespace onceflow::sink
