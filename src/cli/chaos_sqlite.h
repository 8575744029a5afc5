// The few SQLite helpers the chaos audits share: owned handles, preparing and stepping with
// errors that name the database and the statement, a quoted identifier, a read-only URI for
// ATTACH.
#pragma once

#include <fmt/core.h>
#include <sqlite3.h>

#include <memory>
#include <string>

#include "onceflow/status.h"

namespace onceflow::cli {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

// Prepares `sql` on `db`, the database at `path` (named in the error).
inline Result<SqliteStmt> PrepareSql(sqlite3* db, const std::string& path, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Err(Status::IoError(fmt::format("{}: {}: {}", path, sql, sqlite3_errmsg(db))));
  }
  return SqliteStmt(raw);
}

// Steps `s`, a statement of `db` (the database at `path`): true at a row, false at its end. An
// error names the statement.
inline Result<bool> StepSql(sqlite3* db, const std::string& path, sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Err(Status::IoError(fmt::format("{}: {}: {}", path, sqlite3_sql(s), sqlite3_errmsg(db))));
}

// `name` as an SQL identifier.
inline std::string QuoteIdentifier(const std::string& name) {
  std::string q = "\"";
  for (char c : name) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// `path` as an SQLite URI opened read-only ('%', '?' and '#' escaped). The connection that
// opens or attaches it must have SQLITE_OPEN_URI.
inline std::string ReadOnlyUri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      uri += c;
    }
  }
  return uri + "?mode=ro";
}

}  // namespace onceflow::cli
