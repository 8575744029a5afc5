// ListPipelines and the lock probe over /proc/locks.
#include "ui/pipeline_catalog.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "checkpoint/checkpoint.h"
#include "util/file.h"

namespace onceflow::ui {

Result<std::vector<PipelineEntry>> ListPipelines(const std::string& data_dir) {
  std::vector<PipelineEntry> out;
  const std::string root = JoinPath(data_dir, "pipelines");
  if (!PathExists(root)) return out;
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(root));
  for (const std::string& name : names) {
    const std::string dir = checkpoint::CheckpointDir(data_dir, name);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    out.push_back({name, dir});
  }
  std::sort(out.begin(), out.end(),
            [](const PipelineEntry& a, const PipelineEntry& b) { return a.name < b.name; });
  return out;
}

bool CheckpointLockHeld(const std::string& checkpoint_dir) {
  struct stat st {};
  if (::stat(JoinPath(checkpoint_dir, "LOCK").c_str(), &st) != 0) return false;
  // A line of /proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 fe:00:9978986 0 EOF" (the device's
  // major and minor in hex, the inode in decimal).
  char id[64];
  std::snprintf(id, sizeof(id), "%02x:%02x:%" PRIu64, major(st.st_dev), minor(st.st_dev),
                static_cast<uint64_t>(st.st_ino));
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string n, kind, mode, access, pid, file;
    if (!(fields >> n >> kind)) continue;
    if (kind == "->") fields >> kind;  // a waiter's line: "1: -> FLOCK ..."
    if (!(fields >> mode >> access >> pid >> file)) continue;
    if (kind == "FLOCK" && file == id) return true;
  }
  return false;
}

}  // namespace onceflow::ui
