// The per-record audit: the input's identifiers in a scratch SQLite table, joined with the sink.
#include "cli/chaos_key_audit.h"

#include <fmt/core.h>
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <utility>

#include "cli/chaos_sqlite.h"
#include "log/partition_reader.h"
#include "log/topic.h"
#include "operators/record_decoder.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

constexpr int64_t kShown = 10;

// An identifier as SQLite's CAST(x AS TEXT) writes it, so that the two sides compare as text.
std::optional<std::string> KeyText(const Value* v) {
  if (v == nullptr) return std::nullopt;
  if (const auto* i = std::get_if<int64_t>(v)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  if (const auto* b = std::get_if<bool>(v)) return std::string(*b ? "1" : "0");
  if (const auto* d = std::get_if<double>(v)) return fmt::format("{:.15g}", *d);
  return std::nullopt;
}

// The scratch database: the input's (partition, offset, key), with the sink attached.
class Scratch {
 public:
  static Result<Scratch> Open(const std::string& path) {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      ONCEFLOW_RETURN_IF_ERROR(RemoveAll(path + suffix));
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(
        path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
    SqliteHandle db(raw);
    if (rc != SQLITE_OK) {
      return Err(Status::IoError(fmt::format("cannot create {}: {}", path, sqlite3_errstr(rc))));
    }
    Scratch s(path, std::move(db));
    // A scratch file: nothing in it needs to survive a crash.
    ONCEFLOW_RETURN_IF_ERROR(s.Exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; "
                                    "CREATE TABLE input(partition INTEGER, \"offset\" INTEGER, "
                                    "key TEXT)"));
    return s;
  }

  Status Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error != nullptr ? error : "?";
      sqlite3_free(error);
      return Status::IoError(fmt::format("{}: {}: {}", path_, sql, message));
    }
    return Status::Ok();
  }

  Result<SqliteStmt> Prepare(const std::string& sql) { return PrepareSql(db_.get(), path_, sql); }

  Result<bool> Step(sqlite3_stmt* s) { return StepSql(db_.get(), path_, s); }

 private:
  Scratch(std::string path, SqliteHandle db) : path_(std::move(path)), db_(std::move(db)) {}
  std::string path_;
  SqliteHandle db_;
};

// Reads every record of the topic into the scratch table; returns how many.
Result<int64_t> LoadInput(const ChaosTarget& target, const AuditKey& key, Scratch* scratch) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto decoder,
                            operators::RecordDecoder::Create(target.config.source.records()));
  ONCEFLOW_ASSIGN_OR_RETURN(auto topic,
                            log::Topic::Open(target.data_dir, target.config.source.topic(),
                                             /*read_only=*/true));
  ONCEFLOW_RETURN_IF_ERROR(scratch->Exec("BEGIN"));
  ONCEFLOW_ASSIGN_OR_RETURN(SqliteStmt insert,
                            scratch->Prepare("INSERT INTO input VALUES(?1, ?2, ?3)"));
  int64_t records = 0;
  Row row;
  for (int32_t p = 0; p < topic->partition_count(); ++p) {
    ONCEFLOW_ASSIGN_OR_RETURN(log::PartitionLog * plog, topic->partition(PartitionId(p)));
    log::PartitionReader reader(plog, plog->earliest_offset());
    RecordView record;
    Offset offset;
    while (true) {
      ONCEFLOW_ASSIGN_OR_RETURN(bool more, reader.Next(&record, &offset));
      if (!more) break;
      if (decoder->needs_header() && offset.value() == 0) {
        ONCEFLOW_RETURN_IF_ERROR(decoder->SetHeader(PartitionId(p), record.value));
      }
      Result<bool> data = decoder->Decode(PartitionId(p), offset, record, &row);
      if (data.has_value() && !*data) continue;  // a csv header line: not a record
      // A record that does not decode, or lacks the field, must be a dead letter: no key.
      const std::optional<std::string> k =
          data.has_value() ? KeyText(row.Get(key.field)) : std::nullopt;
      sqlite3_reset(insert.get());
      sqlite3_bind_int64(insert.get(), 1, p);
      sqlite3_bind_int64(insert.get(), 2, offset.value());
      if (k) {
        sqlite3_bind_text(insert.get(), 3, k->data(), static_cast<int>(k->size()),
                          SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_null(insert.get(), 3);
      }
      ONCEFLOW_ASSIGN_OR_RETURN(bool inserted, scratch->Step(insert.get()));
      (void)inserted;  // an INSERT returns no row
      ++records;
    }
  }
  ONCEFLOW_RETURN_IF_ERROR(scratch->Exec("COMMIT; CREATE INDEX input_key ON input(key)"));
  return records;
}

}  // namespace

Result<AuditKey> ParseAuditKey(const std::string& spec) {
  const size_t eq = spec.find('=');
  const size_t dot = spec.find('.', eq == std::string::npos ? 0 : eq);
  if (eq == std::string::npos || dot == std::string::npos || eq == 0 || dot == eq + 1 ||
      dot + 1 == spec.size()) {
    return Err(Status::InvalidArgument("--audit-key: '" + spec +
                                       "' is not FIELD=TABLE.COLUMN (e.g. id=ledger.id)"));
  }
  return AuditKey{spec.substr(0, eq), spec.substr(eq + 1, dot - eq - 1), spec.substr(dot + 1)};
}

Result<std::vector<std::string>> AuditRecordKeys(const ChaosTarget& target, const AuditKey& key,
                                                 std::string* summary) {
  const SqliteSinkOptions* sqlite = target.config.sink.sqlite();
  if (target.config.source.type() != "log" || sqlite == nullptr) {
    return Err(
        Status::InvalidArgument("--audit-key needs the embedded log as source and a SQLite sink"));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(Scratch scratch,
                            Scratch::Open(JoinPath(target.work_dir, "input-keys.db")));
  ONCEFLOW_ASSIGN_OR_RETURN(int64_t records, LoadInput(target, key, &scratch));
  {
    ONCEFLOW_ASSIGN_OR_RETURN(SqliteStmt attach, scratch.Prepare("ATTACH DATABASE ?1 AS sink"));
    const std::string uri = ReadOnlyUri(sqlite->path);
    sqlite3_bind_text(attach.get(), 1, uri.c_str(), -1, SQLITE_TRANSIENT);
    ONCEFLOW_ASSIGN_OR_RETURN(bool attached, scratch.Step(attach.get()));
    (void)attached;  // ATTACH returns no row
  }
  const std::string out =
      fmt::format("SELECT CAST({} AS TEXT) AS k, count(*) AS n FROM sink.{} GROUP BY 1",
                  QuoteIdentifier(key.column), QuoteIdentifier(key.table));
  const std::string dead =
      "SELECT partition, \"offset\", count(*) AS n FROM sink.onceflow_dead_letters WHERE "
      "pipeline = ?1 GROUP BY 1, 2";
  std::vector<std::string> violations;
  // Each record: rows with its key plus dead letters of its offset must be exactly 1.
  ONCEFLOW_ASSIGN_OR_RETURN(
      SqliteStmt records_off,
      scratch.Prepare(fmt::format(
          "WITH out AS ({}), dead AS ({}) SELECT i.partition, i.\"offset\", i.key, "
          "coalesce(out.n, 0), coalesce(dead.n, 0) FROM input i LEFT JOIN out ON out.k = i.key "
          "LEFT JOIN dead ON dead.partition = i.partition AND dead.\"offset\" = i.\"offset\" "
          "WHERE coalesce(out.n, 0) + coalesce(dead.n, 0) != 1",
          out, dead)));
  sqlite3_bind_text(records_off.get(), 1, target.config.name.c_str(), -1, SQLITE_TRANSIENT);
  int64_t wrong = 0;
  while (true) {
    ONCEFLOW_ASSIGN_OR_RETURN(bool row, scratch.Step(records_off.get()));
    if (!row) break;
    if (++wrong > kShown) continue;
    const auto* k = reinterpret_cast<const char*>(sqlite3_column_text(records_off.get(), 2));
    const int64_t rows = sqlite3_column_int64(records_off.get(), 3);
    const int64_t dead_letters = sqlite3_column_int64(records_off.get(), 4);
    violations.push_back(fmt::format(
        "{}: record {}:{} ({} = {}): {} row(s) of {} with {} = it, {} dead letter(s)",
        rows + dead_letters == 0 ? "LOST" : "DUPLICATED",
        sqlite3_column_int64(records_off.get(), 0), sqlite3_column_int64(records_off.get(), 1),
        key.field, k != nullptr ? k : "missing", rows, key.table, key.column, dead_letters));
  }
  if (wrong > kShown) violations.push_back(fmt::format("{} more such records", wrong - kShown));
  // Rows whose key no record has.
  ONCEFLOW_ASSIGN_OR_RETURN(
      SqliteStmt phantoms,
      scratch.Prepare(fmt::format("WITH out AS ({}) SELECT k, n FROM out WHERE k IS NULL OR NOT "
                                  "EXISTS (SELECT 1 FROM input WHERE input.key = out.k)",
                                  out)));
  int64_t phantom = 0;
  while (true) {
    ONCEFLOW_ASSIGN_OR_RETURN(bool row, scratch.Step(phantoms.get()));
    if (!row) break;
    if (++phantom > kShown) continue;
    const auto* k = reinterpret_cast<const char*>(sqlite3_column_text(phantoms.get(), 0));
    violations.push_back(fmt::format("PHANTOM: {} row(s) of {} with {} = {}: no input record has "
                                     "that {}",
                                     sqlite3_column_int64(phantoms.get(), 1), key.table, key.column,
                                     k != nullptr ? k : "NULL", key.field));
  }
  if (phantom > kShown) violations.push_back(fmt::format("{} more such keys", phantom - kShown));
  *summary = fmt::format(
      "every one of the {} input records has exactly one row of {} with {} = its {}, or one dead "
      "letter; no row without its record",
      records, key.table, key.column, key.field);
  return violations;
}

}  // namespace onceflow::cli
