// Segment file names.
#include "log/segment_name.h"

#include <cstdio>

namespace onceflow::log {
namespace {
constexpr int kDigits = 20;
constexpr std::string_view kLogSuffix = ".log";
constexpr std::string_view kIndexSuffix = ".index";
}  // namespace

std::string MakeSegmentFileName(Offset base_offset, SegmentFileKind kind) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(base_offset.value()));
  std::string name(buf);
  name += kind == SegmentFileKind::kLog ? kLogSuffix : kIndexSuffix;
  return name;
}

std::optional<ParsedSegmentFileName> ParseSegmentFileName(std::string_view name) {
  SegmentFileKind kind;
  if (name.ends_with(kLogSuffix)) {
    kind = SegmentFileKind::kLog;
    name.remove_suffix(kLogSuffix.size());
  } else if (name.ends_with(kIndexSuffix)) {
    kind = SegmentFileKind::kIndex;
    name.remove_suffix(kIndexSuffix.size());
  } else {
    return std::nullopt;
  }
  if (name.size() != kDigits) return std::nullopt;
  int64_t value = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    if (value > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return ParsedSegmentFileName{Offset(value), kind};
}

}  // namespace onceflow::log
