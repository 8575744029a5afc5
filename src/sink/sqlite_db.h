// SqliteDb: one owned SQLite connection for the SQLite sink, with SQLite's result codes turned
// into Status values that name the database, plus the small helpers (statement handles, value
// binding, identifier quoting) the sink's writers share.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>

#include "onceflow/row.h"
#include "onceflow/status.h"
#include "sink/sink_protocol.h"

namespace onceflow::sink {

struct StatementDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
// A prepared statement, finalized when dropped.
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// Lifecycle: Open() connects (creating the file) with the settings exactly-once needs: WAL,
// synchronous=FULL (a COMMIT that returned is on disk), a busy timeout and extended result
// codes. The connection closes when the object is destroyed; statements still alive then are
// finalized by their owners, and the close waits for them (sqlite3_close_v2).
// Thread-safety: none. The connection is opened without SQLite's own mutex; the owner
// serialises every use.
class SqliteDb {
 public:
  // Opens or creates the database at `path`. Errors name the path: a directory that does not
  // exist or cannot be written, a file that is not a database, a read-only file.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, int busy_timeout_ms);

  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Prepares exactly one statement, to be kept and reused. `what` names it in errors; SQL
  // that holds more than one statement, or none, is invalid_argument.
  Result<Statement> Prepare(std::string_view sql, std::string_view what);

  // Runs `sql`, which may hold several statements, discarding any result rows.
  Status Exec(const std::string& sql, std::string_view what);

  // Steps `stmt` until it is done, then resets it. The bindings stay as they were.
  Status Run(sqlite3_stmt* stmt, std::string_view what);

  // The Status for the SQLite result code `rc` of an operation described by `what`, with the
  // connection's error message. busy/locked are retryable Busy, I/O trouble retryable IoError,
  // a damaged file Corruption, anything else Aborted.
  Status Error(int rc, std::string_view what) const;
  // As Error, but SQL errors (syntax, no such table) are invalid_argument: for statements
  // that come from the configuration.
  Status ConfigError(int rc, std::string_view what) const;

  // Whether a failed step with result `rc` is the fault of the row it wrote (a constraint, a
  // type mismatch, a value too big, an SQL runtime error) rather than of the database, and the
  // transaction is still open: the row goes to dead letters and the batch carries on.
  bool IsRowError(int rc) const;

  // Whether a transaction is open on the connection.
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

  // The connection's last error message.
  std::string_view Message() const { return sqlite3_errmsg(db_); }

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  SqliteDb(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  const std::string path_;
  sqlite3* const db_;
};

// Binds `value` to parameter `index` (1-based): null, bool as 0/1, integer, double, string as
// TEXT. Strings are bound SQLITE_STATIC, without a copy.
// REQUIRES: the value outlives every step of `stmt` until the parameter is bound again or
// cleared.
int BindValue(sqlite3_stmt* stmt, int index, const Value& value);

// Binds text without a copy; the same lifetime requirement as BindValue.
inline int BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

}  // namespace onceflow::sink
