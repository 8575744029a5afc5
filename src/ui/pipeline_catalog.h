// The pipelines of a data directory as the UI lists them: their checkpoint directories under
// <data>/pipelines/, and whether a process runs each (holds its checkpoint's lock).
#pragma once

#include <string>
#include <vector>

#include "onceflow/status.h"

namespace onceflow::ui {

struct PipelineEntry {
  std::string name;
  std::string checkpoint_dir;  // <data>/pipelines/<name>
};

// The pipelines under `data_dir`, sorted by name: every directory of <data>/pipelines. None (and
// no error) when there is no such directory yet.
Result<std::vector<PipelineEntry>> ListPipelines(const std::string& data_dir);

// Whether a process holds the flock of <checkpoint_dir>/LOCK (a driver runs the pipeline),
// found in /proc/locks without touching the lock: taking it, even for a moment, could make a
// driver starting at that moment refuse to start. False when there is no LOCK file or
// /proc/locks cannot be read.
bool CheckpointLockHeld(const std::string& checkpoint_dir);

}  // namespace onceflow::ui
