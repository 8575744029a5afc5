// The data directory check and the reset command of the way outs.
#include "cli/data_dir.h"

#include "cli/commands.h"
#include "util/file.h"

namespace onceflow::cli {

std::string ResetCommand(const std::string& config_path, const std::string& data_dir) {
  std::string cmd = "onceflow reset " + config_path;
  if (data_dir != kDefaultDataDir) cmd += " --data " + data_dir;
  return cmd + " --yes";
}

Status RequireDataDir(const std::string& data_dir) {
  // The default directory is where a first `topics create` makes one: before that it is
  // simply empty. A directory the user named must exist (a typo must not read as "nothing").
  if (data_dir == kDefaultDataDir || PathExists(data_dir)) return Status::Ok();
  return Status::NotFound("data directory " + data_dir +
                          " does not exist (give the right one with --data DIR or "
                          "$ONCEFLOW_DATA)");
}

}  // namespace onceflow::cli
