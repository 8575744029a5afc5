// LossRecord: the durable list of the offsets a partition lost, kept in the partition's
// `LOSSES` file (docs/formats/log.md): torn tails that recovery cut off and damaged ranges that
// `onceflow topics repair --skip-damaged` skipped deliberately. Also the process-wide hook
// through which the log reports a loss to whoever runs it (the CLI prints it on stderr).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace onceflow::log {

enum class LossKind {
  // Recovery cut the last group write off an active segment: its fdatasync had not completed.
  kTornTail,
  // A damaged range deliberately skipped by `topics repair --skip-damaged`. Readers jump over
  // [first, last]; these offsets never hold records again.
  kSkipped,
};

struct LossEvent {
  LossKind kind = LossKind::kTornTail;
  std::string segment;  // the segment's file name, inside the partition directory
  uint64_t byte = 0;    // where in the segment the lost data began
  Offset first;         // the first offset lost
  Offset last{-1};      // the last offset lost; -1 when unknown (the header was unreadable)
  int64_t time_ms = 0;  // wall clock when the loss was recorded
  std::string reason;   // what was wrong with the bytes at `byte`
  // The partition directory: not stored in the file (it is the file's directory).
  std::string partition_dir;

  bool last_known() const { return last.value() >= 0; }
  // True if `offset` is inside a skipped range.
  bool Skips(Offset offset) const {
    return kind == LossKind::kSkipped && offset >= first && offset <= last;
  }
  // One line for a user: what was lost, where, and why.
  std::string Describe() const;
};

// The file name of the record inside a partition directory.
inline constexpr std::string_view kLossFileName = "LOSSES";

// Reads the partition's losses, oldest first; empty when the file does not exist. A damaged
// file is a corruption error naming it.
Result<std::vector<LossEvent>> ReadLosses(const std::string& partition_dir);
// Adds `event` to the partition's record durably (the file is rewritten atomically).
Status AppendLoss(const std::string& partition_dir, const LossEvent& event);

std::string EncodeLosses(const std::vector<LossEvent>& events);
Result<std::vector<LossEvent>> DecodeLosses(std::string_view text, const std::string& path);

// "topic 'T' partition P" when `partition_dir` is <data>/topics/T/P, else the directory.
std::string PartitionLabel(const std::string& partition_dir);
// The command that skips the damage of a topic partition deliberately, or "" when the
// directory is not a topic partition (a checkpoint's log).
std::string RepairCommand(const std::string& partition_dir);
// The clause a corruption error about `partition_dir` ends with: "; to skip the damaged range
// deliberately: <RepairCommand>", or "" when there is no such command.
std::string DamageWayOut(const std::string& partition_dir);

// Where losses are reported in this process. Library code never prints: the CLI installs a
// reporter that writes Describe() on stderr. Without one, losses are only recorded.
using LossReporter = std::function<void(const LossEvent&)>;
void SetLossReporter(LossReporter reporter);
void ReportLoss(const LossEvent& event);

}  // namespace onceflow::log
