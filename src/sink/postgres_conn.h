// PgConn: one libpq connection for the PostgreSQL sink, with PostgreSQL's errors turned into
// Status values that name the server (never the password), and the helpers the sink's writers
// share: running a statement, a pipelined round of statements, and the text form of values.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/row.h"
#include "onceflow/status.h"

namespace onceflow::sink {

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// The safe parts of a libpq connection string, for logs and errors: "host=h port=5432
// dbname=d" (what is given of host, hostaddr, port, dbname). Never the password or any other
// option. A string libpq cannot parse gives invalid_argument without libpq's message, which
// may quote a secret.
Result<std::string> DescribeConninfo(const std::string& conninfo);

// Lifecycle: Connect() opens a connection; it is closed when the object dies. After an error,
// broken() tells whether the connection is gone (the owner then makes a new one).
// Thread-safety: none; the owner serialises every use.
class PgConn {
 public:
  // Connects. `describe` ("postgres host=... port=... dbname=...") starts every error message.
  // A server that cannot be reached is a retryable IoError.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& conninfo, std::string describe);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs `sql` (the simple protocol: several statements allowed), discarding result rows.
  // `what` names it in errors; `config` makes SQL errors invalid_argument (statements from the
  // configuration) rather than aborted.
  Status Exec(const std::string& sql, std::string_view what, bool config = false);

  // Runs `sql` with text parameters (nullptr: NULL; types inferred by the server) and returns
  // its result, tuples or command.
  Result<PgResult> Query(const std::string& sql, const std::vector<const char*>& params,
                         std::string_view what);

  // Reads the results of the queries sent in pipeline mode, up to the sync point: each query's
  // result, in order, into `*results`, and the index of the first that failed into
  // `*first_error` (SIZE_MAX: none). Returns false if the connection was lost before the sync
  // point. The caller leaves pipeline mode.
  bool ReadPipelineResults(std::vector<PgResult>* results, size_t* first_error);

  // The Status of the failed `result` (nullptr: the connection's error) of `what`:
  // connection lost -> retryable IoError; deadlock or serialization failure -> retryable Busy;
  // disk full, out of memory -> retryable IoError; an SQL error -> InvalidArgument when
  // `config`, else Aborted. The message carries the server's message and SQLSTATE.
  Status Error(const PGresult* result, std::string_view what, bool config = false) const;

  // Whether the connection is gone (the server restarted, the network broke).
  bool broken() const { return PQstatus(conn_) == CONNECTION_BAD; }

  PGconn* handle() const { return conn_; }
  const std::string& describe() const { return describe_; }

 private:
  PgConn(PGconn* conn, std::string describe) : conn_(conn), describe_(std::move(describe)) {}

  PGconn* const conn_;
  const std::string describe_;
};

// The SQLSTATE of a failed `result` ("" for none or nullptr) and its primary message ("error"
// for none).
std::string_view SqlState(const PGresult* result);
std::string PrimaryMessage(const PGresult* result);

// Whether a failed statement's SQLSTATE is the fault of the row it wrote (a constraint, bad
// data, an error raised by a trigger or a function, types that do not fit), so that the row
// becomes a dead letter and the batch carries on, rather than of the server or the connection.
bool IsRowErrorState(std::string_view sqlstate);

// The text PostgreSQL parses for `value` (null: none): bool as "1"/"0" (valid input for
// boolean and integer columns, as the SQLite sink binds 1/0), integers in decimal, doubles in
// their shortest round-trip form, strings as they are. Appends to `*out`; returns false for
// null. A string with a NUL byte cannot be sent: `*error` says so and false is returned.
bool AppendValueText(const Value& value, std::string* out, std::string* error);

}  // namespace onceflow::sink
