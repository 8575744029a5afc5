// VerifyReport: whether a pipeline's sink and checkpoint tell the same story — the sink's
// progress rows cover exactly the offsets the checkpoint committed, from where the pipeline
// started, with no gap, overlap, or batch or epoch the checkpoint does not know, and the source
// still holds what was committed (Pipeline::Verify; `onceflow verify` prints it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onceflow {

struct VerifyReport {
  // Where the sink stands when the checkpoint's last batch is unfinished. Both kBefore (the
  // sink does not hold the batch) and kAfter (it does; only the commit record is missing) are
  // consistent: a restart re-runs the batch and the sink skips what it already holds.
  enum class Unfinished {
    kNone,    // the last batch is committed (or there is none)
    kBefore,  // every partition the batch reads ends in the sink at the batch's `from`
    kAfter,   // ... at the batch's `until`
    kMixed,   // some partitions before, some after: consistent only with per-task commits
  };

  // One full sentence per violation, naming the partition or task at fault. The first one is
  // the line `onceflow verify` prints first.
  std::vector<std::string> violations;
  // What was checked and found consistent, one line each (meaningful when ok()).
  std::vector<std::string> summary;
  Unfinished unfinished = Unfinished::kNone;
  // The counts checked: the sink's progress rows and the partitions of the last intent.
  int64_t progress_rows = 0;
  int64_t partitions_checked = 0;

  bool ok() const { return violations.empty(); }
  // The first discrepancy in one line; empty when ok().
  std::string first_violation() const { return ok() ? std::string() : violations.front(); }
};

}  // namespace onceflow
