// PgRowWriter: how the PostgreSQL sink turns output rows into writes inside its open
// transaction, one implementation per sink mode: COPY into a table (append), INSERT ... ON
// CONFLICT DO UPDATE (upsert), or the configured statements with :field parameters.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "onceflow/options.h"
#include "onceflow/status.h"
#include "sink/postgres_conn.h"
#include "sink/sink.h"
#include "sink/sink_protocol.h"

namespace onceflow::sink {

// Lifecycle: made once at the sink's Open() (after the init statements: the tables must exist),
// used for every commit on whatever connection the sink holds then. Prepared statements belong
// to a connection: NewConnection() forgets them. Thread-safety: none; the sink serialises use.
class PgRowWriter {
 public:
  virtual ~PgRowWriter() = default;

  // Writes `rows` in order in `conn`'s open transaction. A row that cannot be written (a field a
  // statement needs is missing, a constraint fails, bad input for a column's type, ...) leaves
  // no effect and is appended to `*errors` in row order; the others are written. Returns not ok
  // only when the server or the connection failed; the caller then rolls back.
  virtual Status Write(PgConn* conn, std::span<const SinkRow> rows,
                       std::vector<RowError>* errors) = 0;

  // Writes what Write() deferred to the end of the transaction (additive: the upserts of the
  // sums); called once per commit after the last Write(). A deferred write the server refuses
  // for its data is a final Aborted naming what it wrote. REQUIRES: as Write.
  virtual Status Finish(PgConn* /*conn*/) { return Status::Ok(); }

  // Forgets whatever was deferred and not written (the transaction rolled back, or a new one
  // begins).
  virtual void Discard() {}

  // The sink reconnected: statements prepared on the old connection are gone.
  virtual void NewConnection() = 0;
};

// append (`key` empty: COPY, and row by row only when some row fails) or upsert (`key`: the
// conflict columns; INSERT ... ON CONFLICT (key) DO UPDATE SET the other columns) into
// `table`. The columns are read once (generated and GENERATED ALWAYS identity columns are
// left out); a row's fields bind to the columns of the same name, fields that are not columns
// are ignored, a column the row lacks is NULL. Values go as text that the column's type parses.
// `columns` not empty (append only): only those columns, each from its own field (additive
// mode's sink.append).
// REQUIRES: `table` and `key` are safe identifiers (IsSafeIdentifier; CHECKed).
Result<std::unique_ptr<PgRowWriter>> MakePgTableWriter(PgConn* conn, const std::string& table,
                                                       std::span<const std::string> key,
                                                       std::span<const ColumnField> columns = {});

// additive: see postgres_additive_writer.h.

// statements: each row runs every statement in order, its :field parameters bound from the
// row's fields (integers as bigint, doubles as double precision, strings, booleans and nulls
// untyped: their type comes from the context). A row is all or nothing. Rows are pipelined in
// chunks under one savepoint; when a row fails, the chunk is rolled back and run again without
// it. Errors at make time name the statement.
Result<std::unique_ptr<PgRowWriter>> MakePgStatementsWriter(
    PgConn* conn, std::span<const std::string> statements);

}  // namespace onceflow::sink
