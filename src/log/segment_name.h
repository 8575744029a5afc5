// The one make/parse pair for the names of segment files: a segment is named by the offset of
// its first record, zero-padded to 20 digits so that names sort as offsets do
// ("00000000000000001234.log" and its index "00000000000000001234.index").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "onceflow/ids.h"

namespace onceflow::log {

enum class SegmentFileKind { kLog, kIndex };

std::string MakeSegmentFileName(Offset base_offset, SegmentFileKind kind);

struct ParsedSegmentFileName {
  Offset base_offset;
  SegmentFileKind kind;
};
// Returns the base offset and kind of a segment file name, or nullopt for any other name.
std::optional<ParsedSegmentFileName> ParseSegmentFileName(std::string_view name);

}  // namespace onceflow::log
