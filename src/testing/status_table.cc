// ParseStatusTable: the lines after the PARTITION header, four columns each.
#include "testing/status_table.h"

#include <charconv>
#include <vector>

#include "testing/process.h"

namespace onceflow::testing {

std::map<int, StatusRow> ParseStatusTable(const std::string& out) {
  std::map<int, StatusRow> rows;
  bool in_table = false;
  for (const std::string& line : SplitLines(out)) {
    if (line.find("PARTITION") != std::string::npos) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    std::vector<std::string> f;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && line[i] == ' ') ++i;
      size_t j = line.find(' ', i);
      if (j == std::string::npos) j = line.size();
      if (j > i) f.push_back(line.substr(i, j - i));
      i = j;
    }
    if (f.size() != 4) continue;
    auto num = [](const std::string& s) {
      int64_t v = -1;
      std::from_chars(s.data(), s.data() + s.size(), v);
      return v;
    };
    const int p = f[0] == "total" ? -1 : static_cast<int>(num(f[0]));
    rows[p] = {f[1] == "-" ? -1 : num(f[1]), num(f[2]), num(f[3])};
  }
  return rows;
}

}  // namespace onceflow::testing
