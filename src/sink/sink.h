// Sink: where a pipeline's output lands, exactly once. A sink keeps, in its own storage and in
// the same transaction as the output, one progress row per (pipeline, task): the last batch
// the task committed, the epoch that committed it, and that batch's input ranges. The progress
// rows are the truth about output (docs/protocol.md).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dataplane/dead_letter.h"
#include "dataplane/sink_row.h"
#include "onceflow/ids.h"
#include "onceflow/offset_range.h"
#include "onceflow/options.h"
#include "onceflow/row.h"
#include "onceflow/status.h"
#include "sink/output_digest.h"

namespace onceflow::sink {

// How output rows become writes (include/onceflow/options.h).
using onceflow::SinkMode;

// The offsets [from, until) of one input partition that a task read in a batch.
using TaskRange = OffsetRange;

// "p:from-until,p:from-until" and back; the progress row stores ranges in this form.
std::string EncodeRanges(std::span<const TaskRange> ranges);
Result<std::vector<TaskRange>> DecodeRanges(std::string_view text);

// Where a task's output of each partition began: the `from` of the first range the sink
// committed for the partition, kept across later commits. nullopt: not known, because the
// partition was committed before onceflow recorded starts (a progress row from an older
// version, read after the migration; docs/formats/sink_progress.md).
using TaskStarts = std::map<PartitionId, std::optional<Offset>>;

// "p:offset,p:?" and back ("?": not known); the progress row stores starts in this form.
std::string EncodeStarts(const TaskStarts& started);
Result<TaskStarts> DecodeStarts(std::string_view text);

// A task's progress row.
struct TaskProgress {
  BatchId last_batch;
  Epoch epoch;
  std::vector<TaskRange> ranges;  // the input ranges of last_batch
  // The identity of the source the task's output came from (TaskCommit::source). "": not known
  // (a row written before onceflow recorded it, or one that no batch has committed yet).
  std::string source;
  // Every partition the task ever committed, with where its output began.
  TaskStarts started;
  // The digest of last_batch's output (TaskCommit::digest). nullopt: not known (a row written
  // before onceflow recorded digests, or by a commit without one).
  std::optional<OutputDigest> digest;
};

// The row a commit of batch `batch` with `ranges` from `source` leaves, given the task's stored
// row (nullopt: none): the stored starts kept (a row without recorded starts: its partitions
// not known), a start added for each partition committed for the first time, the stored source
// kept when `source` is "", and `digest` as the digest of `batch`'s output.
TaskProgress ProgressAfter(const std::optional<TaskProgress>& stored, BatchId batch, Epoch epoch,
                           std::span<const TaskRange> ranges, const std::string& source,
                           const std::optional<OutputDigest>& digest);

// One task's output for one batch.
struct TaskCommit {
  std::string pipeline;
  int32_t task = 0;
  BatchId batch;
  Epoch epoch;
  std::vector<TaskRange> ranges;
  // The identity of the pipeline's source, opaque to the sink (the engine makes it). A commit
  // whose source differs from the one the task's progress row holds is refused; "" checks
  // nothing and keeps the stored one.
  std::string source;
  std::span<const SinkRow> rows;
  std::span<const DeadLetter> dead_letters;
  // DigestOutput(rows, dead_letters), stored with the progress row; a re-run of the stored
  // batch whose digest differs is kAlreadyCommittedDiffers. nullopt: none stored, none checked.
  std::optional<OutputDigest> digest;
};

enum class CommitOutcome {
  kCommitted,         // output and progress row written
  kAlreadyCommitted,  // the progress row already holds this batch (or a later one): nothing written
  // The progress row already holds this very batch, committed with an output whose digest
  // differs from this commit's: nothing written, and the engine reports a non-deterministic
  // re-run (docs/protocol.md, "Replay check").
  kAlreadyCommittedDiffers,
};

// Lifecycle: made from config, Open()ed once by the driver, then Commit() from any thread.
// Thread-safety: Commit may be called concurrently (a sink serialises internally as it needs).
class Sink {
 public:
  virtual ~Sink() = default;

  // Connects, runs the configured init statements, creates the progress and dead-letter tables.
  virtual Status Open() = 0;

  // The progress rows of `pipeline`, by task. A sink may settle what crashed writers left
  // behind first (the Kafka sink fences every older producer of the pipeline's tasks).
  virtual Result<std::map<int32_t, TaskProgress>> ReadProgress(const std::string& pipeline) = 0;
  // The committed progress rows of `pipeline` as they stand, taking nothing over from other
  // processes (for monitoring, and for --until-caught-up across scale-out processes).
  virtual Result<std::map<int32_t, TaskProgress>> PeekProgress(const std::string& pipeline) {
    return ReadProgress(pipeline);
  }

  // Commits the tasks' outputs atomically with their progress rows: in ONE transaction when
  // the sink can (SQLite: one fsync for the whole batch). For each task, inside the
  // transaction: read its progress row; epoch newer than ours -> fenced (nothing of the
  // transaction is written); a source other than the row's -> aborted, naming both (final:
  // the pipeline's source changed identity); last_batch >= batch -> kAlreadyCommitted for that
  // task (its output is skipped; kAlreadyCommittedDiffers when the row holds this batch with
  // another output digest than the commit's, both known); a range whose `from` differs from the
  // stored `until` of the same partition -> aborted, "gap" or "overlap" with both offsets (nothing
  // written); else write the rows and dead letters and set the progress row (ProgressAfter).
  // Returns one outcome per task, in order. A (pipeline, task) may appear only once per call
  // (invalid_argument otherwise). Fault points: mid_sink_write, before_sink_commit,
  // after_sink_commit.
  virtual Result<std::vector<CommitOutcome>> Commit(std::span<const TaskCommit> tasks) = 0;

  // Scale-out (docs/protocol.md "Fencing, epochs and claims"): takes `tasks` of `pipeline` over for
  // `epoch` (a consumer group's generation), in one transaction. A task whose progress row
  // holds a newer epoch -> fenced, and nothing changes; else the row's epoch becomes `epoch` (a
  // row with no batch yet, last_batch -1, is made for a task that has none). From then on a
  // commit of these tasks with an older epoch -- a process that lost them while paused -- is
  // fenced. Returns the tasks' rows after the claim. Sinks without it: invalid_argument.
  virtual Result<std::map<int32_t, TaskProgress>> Claim(const std::string& pipeline,
                                                        std::span<const int32_t> tasks,
                                                        Epoch epoch);

  // Forgets `pipeline` deliberately (the reset verb): deletes its progress rows, all in one
  // transaction where the sink has transactions; its output and dead letters stay. A later
  // commit of the pipeline starts as its first. REQUIRES: no process of the pipeline runs.
  // The Kafka sink writes a tombstone marker per task (README, "Kafka").
  virtual Status DeleteProgress(const std::string& pipeline) = 0;

  // A short description for logs and errors ("sqlite /path/bank.db"); never contains secrets.
  virtual std::string Describe() const = 0;

  // Where the sink says what an operator should know that is not an error of the batch (a
  // background step that failed and is tried again). Set before Open(); a sink calls it only
  // from Commit, so it needs no locking. Unset: such lines are dropped.
  void SetLog(std::function<void(const std::string&)> log) { log_ = std::move(log); }

 protected:
  void Log(const std::string& line) const {
    if (log_) log_(line);
  }

 private:
  std::function<void(const std::string&)> log_;
};

}  // namespace onceflow::sink
