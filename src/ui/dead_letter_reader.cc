// ReadDeadLetters over SQLite (read-only) and PostgreSQL (libpq).
#include "ui/dead_letter_reader.h"

#include <sqlite3.h>

#include <cstdlib>
#include <memory>

#include "sink/postgres_conn.h"
#include "ui/kafka_dead_letters.h"
#include "util/file.h"

namespace onceflow::ui {
namespace {

constexpr const char* kColumns =
    "SELECT batch, partition, \"offset\", error, raw FROM onceflow_dead_letters";

std::string Where(const DeadLetterQuery& q, const char* p1, const char* p2) {
  std::string where = std::string(" WHERE pipeline = ") + p1;
  if (q.batch_id) where += std::string(" AND batch = ") + p2;
  return where + " ORDER BY batch DESC, partition DESC, \"offset\" DESC LIMIT " +
         std::to_string(q.limit);
}

Result<std::vector<StoredDeadLetter>> ReadSqlite(const std::string& path,
                                                 const std::string& pipeline,
                                                 const DeadLetterQuery& q) {
  std::vector<StoredDeadLetter> out;
  if (!PathExists(path)) return out;
  sqlite3* raw_db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw_db, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw_db, sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return Err(Status::IoError("cannot open " + path + ": " + sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  const std::string sql = kColumns + Where(q, "?1", "?2");
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw_stmt, nullptr) != SQLITE_OK) {
    const std::string message = sqlite3_errmsg(db.get());
    // No table yet: the sink has not committed a batch with a dead letter's table.
    if (message.find("no such table") != std::string::npos) return out;
    return Err(Status::IoError(path + ": reading onceflow_dead_letters: " + message));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw_stmt, sqlite3_finalize);
  sqlite3_bind_text(stmt.get(), 1, pipeline.data(), static_cast<int>(pipeline.size()),
                    SQLITE_TRANSIENT);
  if (q.batch_id) sqlite3_bind_int64(stmt.get(), 2, *q.batch_id);
  int step;
  while ((step = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    StoredDeadLetter d;
    d.batch_id = sqlite3_column_int64(stmt.get(), 0);
    d.partition = sqlite3_column_int(stmt.get(), 1);
    d.offset = sqlite3_column_int64(stmt.get(), 2);
    const auto text = [&](int col) {
      const void* p = sqlite3_column_blob(stmt.get(), col);
      return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt.get(), col))
               : std::string();
    };
    d.error = text(3);
    d.raw = text(4);
    out.push_back(std::move(d));
  }
  if (step != SQLITE_DONE) {
    return Err(
        Status::IoError(path + ": reading onceflow_dead_letters: " + sqlite3_errmsg(db.get())));
  }
  return out;
}

Result<std::vector<StoredDeadLetter>> ReadPostgres(const std::string& conninfo,
                                                   const std::string& pipeline,
                                                   const DeadLetterQuery& q) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::string describe, sink::DescribeConninfo(conninfo));
  ONCEFLOW_ASSIGN_OR_RETURN(auto conn, sink::PgConn::Connect(conninfo, "postgres " + describe));
  ONCEFLOW_ASSIGN_OR_RETURN(sink::PgResult exists,
                            conn->Query("SELECT to_regclass('onceflow_dead_letters') IS NOT NULL",
                                        {}, "look for onceflow_dead_letters"));
  std::vector<StoredDeadLetter> out;
  if (PQntuples(exists.get()) != 1 || std::string(PQgetvalue(exists.get(), 0, 0)) != "t") {
    return out;
  }
  const std::string batch = q.batch_id ? std::to_string(*q.batch_id) : std::string();
  std::vector<const char*> params = {pipeline.c_str()};
  if (q.batch_id) params.push_back(batch.c_str());
  ONCEFLOW_ASSIGN_OR_RETURN(
      sink::PgResult r,
      conn->Query(std::string("SELECT batch, partition, \"offset\", error, "
                              "encode(raw, 'escape') FROM onceflow_dead_letters") +
                      Where(q, "$1", "$2"),
                  params, "read onceflow_dead_letters"));
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    StoredDeadLetter d;
    d.batch_id = std::strtoll(PQgetvalue(r.get(), i, 0), nullptr, 10);
    d.partition = static_cast<int32_t>(std::strtol(PQgetvalue(r.get(), i, 1), nullptr, 10));
    d.offset = std::strtoll(PQgetvalue(r.get(), i, 2), nullptr, 10);
    d.error = PQgetvalue(r.get(), i, 3);
    d.raw = PQgetvalue(r.get(), i, 4);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

Result<std::vector<StoredDeadLetter>> ReadDeadLetters(const config::PipelineConfig& config,
                                                      const DeadLetterQuery& query,
                                                      std::string* note) {
  if (const SqliteSinkOptions* s = config.sink.sqlite()) {
    return ReadSqlite(s->path, config.name, query);
  }
  if (const PostgresSinkOptions* p = config.sink.postgres()) {
    return ReadPostgres(p->conninfo, config.name, query);
  }
  if (const KafkaSinkOptions* k = config.sink.kafka()) {
    return ReadKafkaDeadLetters(*k, config.name, query, note);
  }
  if (note != nullptr) *note = "a blackhole sink keeps no dead letters";
  return std::vector<StoredDeadLetter>{};
}

}  // namespace onceflow::ui
