// SqliteDb: connection set-up and SQLite result codes as Status values.
#include "sink/sqlite_db.h"

#include <cstring>

#include "sink/sqlite_tracked_vfs.h"
#include "util/file.h"

namespace onceflow::sink {
namespace {

// Whether the rest of an SQL text after its first statement holds nothing but spaces,
// semicolons and comments.
bool IsEmptyTail(sqlite3* db, const char* tail) {
  while (*tail != '\0') {
    sqlite3_stmt* next = nullptr;
    const char* after = nullptr;
    if (sqlite3_prepare_v2(db, tail, -1, &next, &after) != SQLITE_OK) return false;
    if (next != nullptr) {
      sqlite3_finalize(next);
      return false;
    }
    if (after == tail) break;
    tail = after;
  }
  return true;
}

// The Status for SQLite result code `rc`: busy/locked are retryable Busy, I/O trouble a
// retryable IoError, a read-only or forbidden file a final IoError, a damaged file Corruption,
// anything else Aborted.
Status StatusFor(int rc, std::string msg) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::Busy(std::move(msg));
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL: return Status::IoError(std::move(msg));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return Status::IoError(std::move(msg)).WithRetryable(false);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::Corruption(std::move(msg));
    default: return Status::Aborted(std::move(msg));
  }
}

}  // namespace

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, int busy_timeout_ms) {
  // Crash tests only (a power loss or a fault point armed): SQLite's files through the tracker.
  InstallTrackedVfsIfWanted();
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // From here on the connection (even a failed one) is owned and closed by `db`.
  std::unique_ptr<SqliteDb> db(new SqliteDb(path, raw));
  if (raw == nullptr)
    return Err(Status::IoError("sqlite " + path + ": cannot open: out of memory"));
  if (rc != SQLITE_OK) {
    std::string msg = "sqlite " + path + ": cannot open: " + sqlite3_errmsg(raw);
    if (const int err = sqlite3_system_errno(raw); err != 0) {
      msg += " (" + std::string(std::strerror(err)) + ")";
    }
    if ((rc & 0xff) == SQLITE_CANTOPEN) msg += "; does the directory exist and is it writable?";
    return Err(StatusFor(rc, std::move(msg)));
  }
  sqlite3_extended_result_codes(raw, 1);
  if (sqlite3_db_readonly(raw, "main") == 1) {
    return Err(Status::IoError("sqlite " + path + ": the database file is read-only")
                   .WithRetryable(false));
  }
  sqlite3_busy_timeout(raw, busy_timeout_ms);

  // WAL lets readers work during a commit; synchronous=FULL makes each COMMIT durable, which
  // exactly-once depends on: an acknowledged batch must survive power loss.
  ONCEFLOW_ASSIGN_OR_RETURN(Statement wal, db->Prepare("PRAGMA journal_mode=WAL", "set WAL mode"));
  const int wal_rc = sqlite3_step(wal.get());
  if (wal_rc != SQLITE_ROW) return Err(db->Error(wal_rc, "PRAGMA journal_mode=WAL"));
  const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(wal.get(), 0));
  const std::string journal_mode = mode != nullptr ? mode : "";
  wal.reset();
  if (journal_mode != "wal" && path != ":memory:") {
    return Err(Status::IoError("sqlite " + path + ": cannot use WAL mode (journal_mode is '" +
                               journal_mode + "')")
                   .WithRetryable(false));
  }
  ONCEFLOW_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL", "set synchronous=FULL"));
  // A page cache of up to 128 MiB (the default is 2 MiB): an upsert sink's table and key index
  // are updated at scattered places, and re-reading their pages from the OS dominated large
  // upserts. Closing leaves the WAL for the next open instead of copying it into the database
  // file first: nothing is lost, and a stop does not wait for a checkpoint of a large WAL.
  ONCEFLOW_RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-131072", "set cache_size"));
  sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  return db;
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

Result<Statement> SqliteDb::Prepare(std::string_view sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, &tail);
  Statement stmt(raw);
  if (rc != SQLITE_OK) return Err(ConfigError(rc, what));
  if (stmt == nullptr) {
    return Err(Status::InvalidArgument("sqlite " + path_ + ": " + std::string(what) +
                                       ": holds no SQL statement"));
  }
  const std::string rest(tail, static_cast<size_t>(sql.data() + sql.size() - tail));
  if (!IsEmptyTail(db_, rest.c_str())) {
    return Err(Status::InvalidArgument("sqlite " + path_ + ": " + std::string(what) +
                                       ": holds more than one SQL statement; give one per entry"));
  }
  return stmt;
}

Status SqliteDb::Exec(const std::string& sql, std::string_view what) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  Status s = ConfigError(rc, what);
  sqlite3_free(err);
  return s;
}

Status SqliteDb::Run(sqlite3_stmt* stmt, std::string_view what) {
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt);
    return Status::Ok();
  }
  Status s = Error(rc, what);
  sqlite3_reset(stmt);
  return s;
}

Status SqliteDb::Error(int rc, std::string_view what) const {
  if ((rc & 0xff) == SQLITE_FULL) {
    // Said as the file layer says a full disk (util/file.h, IsDiskFull): retryable, and a run
    // waits it out instead of failing the batch for good.
    return Status::IoError(std::string(kDiskFull) + path_ + " (sqlite: " + std::string(what) +
                           ": " + sqlite3_errmsg(db_) + ")");
  }
  return StatusFor(rc, "sqlite " + path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status SqliteDb::ConfigError(int rc, std::string_view what) const {
  Status s = Error(rc, what);
  // SQL that does not compile, a missing table or column: the configuration is at fault.
  if ((rc & 0xff) == SQLITE_ERROR) return Status::InvalidArgument(s.message());
  return s;
}

bool SqliteDb::IsRowError(int rc) const {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_ERROR:
      // SQLite rolls the whole transaction back on some errors; then the batch cannot go on.
      return InTransaction();
    default: return false;
  }
}

int BindValue(sqlite3_stmt* stmt, int index, const Value& value) {
  switch (value.index()) {
    case 0: return sqlite3_bind_null(stmt, index);
    case 1: return sqlite3_bind_int(stmt, index, std::get<bool>(value) ? 1 : 0);
    case 2: return sqlite3_bind_int64(stmt, index, std::get<int64_t>(value));
    case 3: return sqlite3_bind_double(stmt, index, std::get<double>(value));
    default: return BindText(stmt, index, std::get<std::string>(value));
  }
}

}  // namespace onceflow::sink
