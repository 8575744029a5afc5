// The few SQLite helpers the chaos audits share: owned handles, a quoted identifier, a
// read-only URI for ATTACH.
#pragma once

#include <fmt/core.h>
#include <sqlite3.h>

#include <memory>
#include <string>

namespace onceflow::cli {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

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
