// The data directory as the verbs name it: the check that a directory the user named exists,
// and the reset command (with --data DIR) that refusals name as their way out.
#pragma once

#include <string>

#include "onceflow/status.h"

namespace onceflow::cli {

// "onceflow reset FILE --yes" (with --data DIR unless DIR is the default): the way out of a
// refusal that needs the pipeline started afresh (RunOptions::reset_command,
// AuditOptions::reset_command).
std::string ResetCommand(const std::string& config_path, const std::string& data_dir);

// not_found naming `data_dir` when it does not exist: verbs that only read refuse it instead
// of reporting nothing there. The default directory (kDefaultDataDir, when neither --data nor
// $ONCEFLOW_DATA names one) is exempt: before the first topic it is simply empty.
Status RequireDataDir(const std::string& data_dir);

}  // namespace onceflow::cli
