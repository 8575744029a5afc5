// RowWriter: how the SQLite sink turns one output row into writes inside its open transaction,
// one implementation per sink mode: insert into a table (append), insert-or-update by key
// (upsert), run the configured statements with :field parameters (statements), or sum deltas
// per key (additive, sqlite_additive_writer.h).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "onceflow/options.h"
#include "onceflow/row.h"
#include "onceflow/status.h"
#include "sink/sink.h"
#include "sink/sqlite_db.h"

namespace onceflow::sink {

// Lifecycle: made once at the sink's Open(), after the init statements ran (the table or the
// statements' tables must exist), and used for every commit; its statements are prepared once
// and reused. Thread-safety: none; the sink serialises use.
class RowWriter {
 public:
  virtual ~RowWriter() = default;

  // Writes `rows` in order, in the connection's open transaction. A row that cannot be written
  // (a field a statement needs is missing, a constraint fails, ...) leaves no effect at all and
  // is appended to `*errors`, in row order; the other rows are written. Returns not ok only if
  // the database failed (busy, I/O, full disk); the caller then rolls back.
  // REQUIRES: a transaction is open; `rows` outlive the next call (strings are bound without a
  // copy) or ClearBindings().
  virtual Status Write(std::span<const SinkRow> rows, std::vector<RowError>* errors) = 0;

  // Writes what Write() deferred to the end of the transaction (additive: one upsert per
  // key); called once per commit after the last Write(). A deferred write the database refuses
  // for its data is a final Aborted naming what it wrote; a database failure is returned as
  // such. REQUIRES: as Write.
  virtual Status Finish() { return Status::Ok(); }

  // Drops the statements' references to the last rows' strings, and anything deferred that
  // Finish() has not written. Called after each commit and rollback.
  virtual void ClearBindings() = 0;
};

// append (`key` empty) or upsert (`key` = the conflict columns) into `table`. The table's
// columns are read once (PRAGMA table_info); a row's fields bind to the columns of the same
// name, fields that are not columns are ignored, and a column the row lacks is NULL. In upsert
// mode a row without every key field is a row error, and a conflict on the key updates the
// other columns.
// `columns` not empty (append only): only those columns, each from its own field (additive
// mode's sink.append), instead of every column from the field of its name.
// REQUIRES: `table` and `key` are safe identifiers (IsSafeIdentifier; CHECKed); `*db` outlives
// the writer.
Result<std::unique_ptr<RowWriter>> MakeTableWriter(SqliteDb* db, const std::string& table,
                                                   std::span<const std::string> key,
                                                   std::span<const ColumnField> columns = {});

// statements: each row runs every statement in order, its named parameters (:field, @field or
// $field) bound from the row's fields; a parameter whose field is missing is a row error. A
// row is all-or-nothing, yet a savepoint per row would cost a third of the throughput: rows run
// in chunks under one savepoint, and when a row fails after running a statement, the chunk is
// rolled back and its earlier rows are run again, each under its own savepoint.
// Errors (at make time) name the statement: SQL that does not compile, a positional `?`.
// REQUIRES: `*db` outlives the writer.
Result<std::unique_ptr<RowWriter>> MakeStatementsWriter(SqliteDb* db,
                                                        std::span<const std::string> statements);

}  // namespace onceflow::sink
