// PipelinedRows: the engine of the PostgreSQL sink's row writers. It runs prepared statements
// for rows in libpq pipeline mode, a chunk of rows per round trip, all of them under one
// savepoint; when a row fails, that is rolled back and the rows run again in chunks under a
// savepoint each, dropping a failing row from its chunk so that a row is all or nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "onceflow/row.h"
#include "onceflow/status.h"
#include "sink/postgres_conn.h"
#include "sink/sink.h"
#include "sink/sink_protocol.h"

namespace onceflow::sink {

// One statement run per row, with the row fields its parameters take.
struct PgStatement {
  std::string sql;                      // with $1, $2, ...
  std::string label;                    // "statement 2 (UPDATE ...)", "insert into orders"
  std::vector<std::string> fields;      // $i+1 binds the row's field fields[i]
  std::vector<std::string> parameters;  // as written (":amount"), for errors
  std::vector<bool> required;           // a row without the field is a row error (else NULL)
  bool key_columns = false;             // the required fields are key columns (error wording)
  bool typed = false;                   // integers as bigint, doubles as double precision
  // For the current connection: prepared statement by parameter-type signature, and the
  // errors of signatures that could not be prepared (their rows are row errors).
  std::map<std::string, std::string> prepared;
  std::map<std::string, std::string> failed;
};

// Runs `statements` (at least one) for each row, in order, in pipelined chunks of at most 1024
// statements. The clean path (no row fails) takes one savepoint for all the rows, not one per
// chunk: past 64 subtransactions in one transaction PostgreSQL's visibility checks take a slow
// path (pg_subtrans), and a 100 k-row batch would be ~300 of them. A statement is prepared per
// signature of parameter types the rows bring, on first use, under a savepoint of its own (a failed
// prepare is the row's error, remembered). Lifecycle: made once per writer; NewConnection() forgets
// what was prepared. Thread-safety: none; the sink serialises use.
class PipelinedRows {
 public:
  // `name_prefix` names the prepared statements ("onceflow_table_" + a counter).
  PipelinedRows(std::vector<PgStatement> statements, std::string name_prefix);

  // The sink reconnected: statements prepared on the old connection are gone.
  void NewConnection();

  // Writes `rows` in `conn`'s open transaction. A row that fails leaves no effect and is
  // appended to `*errors` (in row order); returns not ok only when the server or the connection
  // failed.
  Status Write(PgConn* conn, std::span<const SinkRow> rows, std::vector<RowError>* errors);

  const std::vector<PgStatement>& statements() const { return statements_; }

 private:
  // The signature of `row` for `s` ('i' bigint, 'd' double, 'u' untyped per parameter), or a
  // row error in `*error` (a required field is missing).
  std::string Signature(const PgStatement& s, const Row& row, std::string* error) const;

  // The name of `s` prepared for `row`'s parameter types, preparing it if needed; a row error
  // (missing field, types the statement cannot take) goes to `*error`.
  Result<std::string> Prepared(PgConn* conn, PgStatement& s, const Row& row, std::string* error);

  // All rows under one savepoint, no row error possible: true when every row ran; false when
  // some row cannot (nothing of `rows` stays then), for WriteChecked to find which.
  Result<bool> WriteClean(PgConn* conn, std::span<const SinkRow> rows);

  // Chunk by chunk under a savepoint each, a failing row dropped from its chunk.
  Status WriteChecked(PgConn* conn, std::span<const SinkRow> rows, std::vector<RowError>* errors);

  // What a chunk's pipeline starts and ends with (nullptr: nothing), and the SQL that undoes it.
  struct Frame {
    const char* begin = nullptr;
    const char* end = nullptr;
    const char* rollback = nullptr;
  };

  // Runs rows [start, end) but the skipped ones, in one pipeline framed by `frame`. A row that
  // fails is reported in `*failed` after `frame.rollback`; otherwise every row ran.
  Status RunChunk(PgConn* conn, std::span<const SinkRow> rows, size_t start,
                  const std::vector<char>& skip, size_t end, const Frame& frame,
                  std::optional<RowError>* failed);

  std::vector<PgStatement> statements_;
  const std::string prefix_;
  size_t chunk_rows_ = 1;
  uint64_t counter_ = 0;
  // Scratch for binding one statement: the values, NUL-terminated, and where each starts.
  std::string values_;
  std::vector<size_t> starts_;  // SIZE_MAX: NULL
  std::vector<const char*> pointers_;
};

}  // namespace onceflow::sink
