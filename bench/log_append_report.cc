// log_append_bench's reporting helpers.
#include "log_append_report.h"

#include <sys/statfs.h>

#include <algorithm>
#include <cstdio>

namespace onceflow::bench {

double MeasuredMedian(std::vector<double> v) {
  std::erase_if(v, [](double x) { return x < 0; });  // -1: not measured in that repetition
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Human(double v) {
  char buf[32];
  if (v < 0) return "-";
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string Fixed(double v, int decimals) {
  if (v < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// "/proc/loadavg" as it reads, newline included. (Its size is 0: read it as a stream.)
std::string LoadAverage() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  char buf[128] = "?\n";
  if (f != nullptr) {
    if (std::fgets(buf, sizeof buf, f) == nullptr) std::snprintf(buf, sizeof buf, "?\n");
    std::fclose(f);
  }
  return buf;
}

std::string FsType(const std::string& dir) {
  struct statfs s {};
  if (statfs(dir.c_str(), &s) != 0) return "?";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0x01021994: return "tmpfs";
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(s.f_type));
      return buf;
    }
  }
}

}  // namespace onceflow::bench
