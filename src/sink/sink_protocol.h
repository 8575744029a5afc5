// The parts of the progress-row protocol that do not depend on the database: checking a commit's
// arguments and the sink options of a mode, and deciding a task's outcome from its stored
// progress row. Every sink (SQLite and PostgreSQL through TransactionalSink, and Kafka) calls
// these, so that they refuse and report alike, with the same words.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::sink {

// A row that could not be written: its index in the rows given to a row writer, and why,
// naming the statement (for its dead letter).
struct RowError {
  size_t index;
  std::string message;
};

// "append", "upsert", "statements", "additive".
std::string_view ModeName(SinkMode mode);

// Checks the mode's options: table (append, upsert) and key (upsert) plain identifiers, key
// columns not repeated, statements (statements mode) present and not empty. `where` starts every
// message ("sqlite /x.db: ", "postgres host=h port=5432 dbname=d: ").
Status ValidateModeOptions(const std::string& where, SinkMode mode, const std::string& table,
                           std::span<const std::string> key,
                           std::span<const std::string> statements);

// Checks additive mode's options: at least one sink.add entry, each with a table, key columns and
// added columns that are plain identifiers, none repeated, an added column no key column,
// every field named (after an optional '-' in `add`); entries of one table with the same key
// columns; sink.append's table and columns likewise (or no table and no columns). Messages name
// the entry: "sink.add[1].key", "sink.append.columns".
Status ValidateAdditiveOptions(const std::string& where, std::span<const AddTo> add,
                               const AppendTo& append);

// A task's identity in messages: "pipeline 'bank' task 3".
std::string TaskName(const std::string& pipeline, int32_t task);

// Checks the arguments of one Commit call: each task's pipeline, task, batch and ranges (what
// DecodeRanges reads back), and that no (pipeline, task) appears twice. invalid_argument,
// prefixed by `describe`.
Status ValidateCommit(const std::string& describe, std::span<const TaskCommit> tasks);

// Decides what a commit of `t` does given the task's stored progress row (nullopt: none):
// Fenced (stored epoch newer), Aborted (another source than the stored row's, naming both; a
// replay of the stored batch with other ranges; a gap or overlap with the stored ranges, naming
// partition and both offsets), kAlreadyCommittedDiffers (stored last_batch == t.batch, both
// digests known and different), kAlreadyCommitted (stored last_batch >= t.batch) or kCommitted.
// Messages start with `describe`.
Result<CommitOutcome> DecideTask(const std::string& describe, const TaskCommit& t,
                                 const std::optional<TaskProgress>& stored);

// Decides a claim of task `task` for `epoch` (Sink::Claim) given its stored row (nullopt: none):
// fenced if the stored epoch is newer; else the row as it must stand after the claim (the
// stored batch and ranges, or last_batch -1 and no ranges, with `epoch`).
Result<TaskProgress> DecideClaim(const std::string& describe, const std::string& pipeline,
                                 int32_t task, Epoch epoch,
                                 const std::optional<TaskProgress>& stored);

// The starts of a progress row from its `started` column (nullopt: NULL, a row written before
// onceflow recorded starts: every partition of its `ranges` has an unknown start).
Result<TaskStarts> StartsFromColumn(std::optional<std::string_view> column,
                                    std::span<const TaskRange> ranges);

// Whether `s` is valid UTF-8 (a dead letter's raw record is stored as text when it is).
bool IsValidUtf8(std::string_view s);

// Milliseconds since the Unix epoch (committed_at_ms of progress rows).
int64_t NowMs();

// `name` as an SQL identifier in double quotes, inner quotes doubled: ab"c -> "ab""c".
std::string QuoteIdentifier(std::string_view name);

// Whether `name` is a plain identifier, [A-Za-z_][A-Za-z0-9_]*: the form the sinks accept for
// the table and key columns named in their options.
bool IsSafeIdentifier(std::string_view name);

}  // namespace onceflow::sink
