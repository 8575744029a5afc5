// HistoryWriter: appends a pipeline's batch records to `<checkpoint>/history/`
// (docs/formats/history.md), bounded by rolling generation files.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "history/history_format.h"
#include "onceflow/batch_history.h"
#include "onceflow/status.h"
#include "util/file.h"

namespace onceflow::history {

struct HistoryWriterOptions {
  // Batch records kept: each generation file holds at most this many and the two newest are
  // kept, so readers always find the last max_batches. REQUIRES: >= 1.
  int64_t max_batches = kDefaultMaxBatches;
  // Told once, in one line naming the file, when history is turned off by an I/O error, and of
  // a damaged history file found at open. Unset: nothing is said.
  std::function<void(const std::string&)> log;
};

// The one line said when history is turned off by `error`: it names the file, and does not read
// as the pipeline's own "disk full: " outage (which the run waits out; history does not wait).
std::string HistoryOffLine(const Status& error);
// True the first time it is asked for `history_dir` in this process: history turned off is said
// once per pipeline and process, also when a full disk makes the run start drivers again.
bool FirstTimeOff(const std::string& history_dir);

// Lifecycle: Open at driver start (after the checkpoint's lock is held: one writer per
// directory), Append once per batch attempt, destroyed with the driver.
// Thread-safety: one thread at a time.
// Durability: none of its own. History is informational: an appended record is handed to the OS
// (it survives kill -9, not necessarily a power loss) and is never fsynced, so it costs the
// commit path no sync. A record is either whole or not seen (the log's CRC framing); a torn
// tail is cut at the next Open.
// Errors: Append never fails. The first I/O error is said once (`log`) and turns the writer off
// for the rest of the run: history never stops or fails the exactly-once path.
class HistoryWriter {
 public:
  // Opens (creating) the history of the checkpoint directory `checkpoint_dir`: cuts a torn tail
  // of the newest generation, starts a new generation when the newest is damaged or was written
  // with another max_batches, drops generations older than the two newest. An error (the
  // directory cannot be created or read) names the path; the caller runs without history.
  static Result<std::unique_ptr<HistoryWriter>> Open(const std::string& checkpoint_dir,
                                                     HistoryWriterOptions options);

  // Appends `record` (never fails; see the class comment).
  void Append(const BatchRecord& record);

  // The greatest batch id of a "committed" record found at Open (nullopt: none). Recovery uses
  // it to tell a committed batch whose record a crash lost.
  std::optional<int64_t> last_committed_at_open() const { return last_committed_at_open_; }
  // False once an I/O error turned the writer off.
  bool enabled() const { return enabled_; }
  const std::string& dir() const { return dir_; }

  HistoryWriter(const HistoryWriter&) = delete;
  HistoryWriter& operator=(const HistoryWriter&) = delete;

 private:
  HistoryWriter(std::string dir, HistoryWriterOptions options)
      : dir_(std::move(dir)), options_(std::move(options)) {}
  // Makes generation `generation` the one appended to: created (or emptied) with its header.
  Status StartGeneration(uint64_t generation);
  // Removes the generation files older than the kGenerationsKept newest.
  Status DropOldGenerations();
  Status Write(const std::string& key, const std::string& value, int64_t timestamp_ms);
  void TurnOff(const Status& error);

  std::string dir_;
  HistoryWriterOptions options_;
  bool enabled_ = true;
  File file_;  // the newest generation
  uint64_t generation_ = 0;
  uint64_t end_ = 0;           // where the next entry is written in file_
  int64_t entries_ = 0;        // entries in file_, its header included
  int64_t batch_records_ = 0;  // batch records in file_: at max_batches the next one rolls
  std::optional<int64_t> last_committed_at_open_;
};

}  // namespace onceflow::history
