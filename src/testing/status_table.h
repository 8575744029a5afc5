// The partition table of `onceflow status`, parsed for the end-to-end tests.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace onceflow::testing {

// One partition line of `onceflow status`.
struct StatusRow {
  int64_t committed = -1;  // -1: "-"
  int64_t end = -1;
  int64_t lag = -1;
};

// The partition table of `onceflow status` output `out`, by partition; the "total" line under
// key -1.
std::map<int, StatusRow> ParseStatusTable(const std::string& out);

}  // namespace onceflow::testing
