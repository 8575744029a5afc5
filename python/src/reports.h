// Python dicts of what the engine reports about a pipeline: its stats, its status (`onceflow
// status`) and its verification (`onceflow verify`). REQUIRE the GIL.
#pragma once

#include <nanobind/nanobind.h>

#include <span>

#include "onceflow/offset_range.h"
#include "onceflow/pipeline.h"

namespace onceflow::python {

namespace nb = nanobind;

// [(partition, from, until), ...]
nb::list Ranges(std::span<const OffsetRange> ranges);
nb::dict StatsDict(const PipelineStats& s);
nb::dict StatusDict(const PipelineStatus& s);
nb::dict VerifyDict(const VerifyReport& r);

}  // namespace onceflow::python
