// The chaos audits: verify, the reference run, and the comparison of two SQLite sinks.
#include "cli/chaos_audit.h"

#include <fmt/core.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>

#include "audit/pipeline_verifier.h"
#include "checkpoint/checkpoint.h"
#include "cli/chaos_sqlite.h"
#include "cli/data_dir.h"
#include "engine/pipeline_spec.h"
#include "onceflow/pipeline.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

constexpr size_t kShownPerTable = 10;
constexpr size_t kShownValueBytes = 80;
constexpr const char* kReferenceSuffix = ".chaos-reference";

// Column `c` of the current row, as SQL would write it (truncated when long).
std::string Render(sqlite3_stmt* s, int c) {
  std::string v;
  switch (sqlite3_column_type(s, c)) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_INTEGER: return std::to_string(sqlite3_column_int64(s, c));
    case SQLITE_FLOAT: return fmt::format("{:.17g}", sqlite3_column_double(s, c));
    case SQLITE_TEXT: {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
      v = "'" + std::string(t, static_cast<size_t>(sqlite3_column_bytes(s, c))) + "'";
      break;
    }
    default: {
      const auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(s, c));
      v = "x'";
      for (int i = 0; i < sqlite3_column_bytes(s, c); ++i) v += fmt::format("{:02x}", b[i]);
      v += "'";
    }
  }
  return v.size() > kShownValueBytes ? v.substr(0, kShownValueBytes) + "..." : v;
}

// One read-only connection on the sink's database with the reference attached as `ref`.
class SinkPair {
 public:
  static Result<SinkPair> Open(const std::string& sink_db, const std::string& reference_db) {
    for (const std::string& p : {sink_db, reference_db}) {
      if (!PathExists(p)) return Err(Status::NotFound("no database at " + p));
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(ReadOnlyUri(sink_db).c_str(), &raw,
                                   SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
    SqliteHandle db(raw);
    if (rc != SQLITE_OK) {
      return Err(Status::IoError(fmt::format("cannot open {}: {}", sink_db,
                                             raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc))));
    }
    SinkPair pair(sink_db, std::move(db));
    ONCEFLOW_ASSIGN_OR_RETURN(SqliteStmt attach, pair.Prepare("ATTACH DATABASE ?1 AS ref"));
    const std::string uri = ReadOnlyUri(reference_db);
    sqlite3_bind_text(attach.get(), 1, uri.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(attach.get()) != SQLITE_DONE) {
      return Err(Status::IoError(
          fmt::format("cannot attach {}: {}", reference_db, sqlite3_errmsg(pair.db_.get()))));
    }
    return pair;
  }

  Result<SqliteStmt> Prepare(const std::string& sql) { return PrepareSql(db_.get(), path_, sql); }

  // Steps `s`; false at its end. An error names the statement.
  Result<bool> Step(sqlite3_stmt* s) { return StepSql(db_.get(), path_, s); }

  // The first column of the first row of `sql` as an integer, with text parameters.
  Result<int64_t> Count(const std::string& sql, const std::vector<std::string>& params = {}) {
    ONCEFLOW_ASSIGN_OR_RETURN(SqliteStmt s, Prepare(sql));
    for (size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_text(s.get(), static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    ONCEFLOW_ASSIGN_OR_RETURN(bool row, Step(s.get()));
    return row ? sqlite3_column_int64(s.get(), 0) : 0;
  }

  // The names of a table's columns in schema `schema`, in order.
  Result<std::vector<std::string>> Columns(const std::string& schema, const std::string& table) {
    ONCEFLOW_ASSIGN_OR_RETURN(SqliteStmt s, Prepare(fmt::format("PRAGMA {}.table_info({})", schema,
                                                                QuoteIdentifier(table))));
    std::vector<std::string> cols;
    while (true) {
      ONCEFLOW_ASSIGN_OR_RETURN(bool row, Step(s.get()));
      if (!row) break;
      cols.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 1)));
    }
    return cols;
  }

  Result<std::vector<std::string>> Tables(const std::string& schema) {
    ONCEFLOW_ASSIGN_OR_RETURN(
        SqliteStmt s,
        Prepare(fmt::format("SELECT name FROM {}.sqlite_master WHERE type = 'table' AND "
                            "name NOT LIKE 'sqlite_%' ORDER BY name",
                            schema)));
    std::vector<std::string> names;
    while (true) {
      ONCEFLOW_ASSIGN_OR_RETURN(bool row, Step(s.get()));
      if (!row) break;
      names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0)));
    }
    return names;
  }

 private:
  SinkPair(std::string path, SqliteHandle db) : path_(std::move(path)), db_(std::move(db)) {}
  std::string path_;
  SqliteHandle db_;
};

// What one side of a comparison reads: `cols` of `table` in `schema`, optionally only the rows
// of one pipeline.
struct Side {
  std::string schema;
  std::string pipeline;  // "": every row
};

std::string Grouped(const std::string& table, const std::string& cols, const Side& side,
                    int param) {
  const std::string where =
      side.pipeline.empty() ? "" : fmt::format(" WHERE pipeline = ?{}", param);
  return fmt::format("SELECT {}, count(*) FROM {}.{}{} GROUP BY {}", cols, side.schema,
                     QuoteIdentifier(table), where, cols);
}

// Compares `table` (its `columns`) as multisets between the two sides; appends violations.
Status CompareTable(SinkPair* db, const std::string& table, const std::vector<std::string>& columns,
                    const Side& sink, const Side& ref, std::vector<std::string>* violations,
                    std::vector<std::string>* same) {
  std::string cols;
  for (const std::string& c : columns) cols += (cols.empty() ? "" : ", ") + QuoteIdentifier(c);
  auto count_sql = [&](const Side& side) {
    return fmt::format("SELECT count(*) FROM {}.{}{}", side.schema, QuoteIdentifier(table),
                       side.pipeline.empty() ? "" : " WHERE pipeline = ?1");
  };
  auto params = [](const Side& side) {
    return side.pipeline.empty() ? std::vector<std::string>{}
                                 : std::vector<std::string>{side.pipeline};
  };
  ONCEFLOW_ASSIGN_OR_RETURN(int64_t sink_rows, db->Count(count_sql(sink), params(sink)));
  ONCEFLOW_ASSIGN_OR_RETURN(int64_t ref_rows, db->Count(count_sql(ref), params(ref)));
  // The count of one distinct row on the other side.
  std::string match;
  for (size_t i = 0; i < columns.size(); ++i) {
    match += fmt::format("{}{} IS ?{}", i == 0 ? "" : " AND ", QuoteIdentifier(columns[i]), i + 1);
  }
  const auto n = static_cast<int>(columns.size());
  size_t differing = 0;
  // Rows whose count in `from` is not their count in `other`.
  for (const bool sink_side : {true, false}) {
    const Side& from = sink_side ? sink : ref;
    const Side& other = sink_side ? ref : sink;
    const int p_from = 1;
    const int p_other = from.pipeline.empty() ? 1 : 2;
    ONCEFLOW_ASSIGN_OR_RETURN(SqliteStmt diff,
                              db->Prepare(Grouped(table, cols, from, p_from) + " EXCEPT " +
                                          Grouped(table, cols, other, p_other)));
    if (!from.pipeline.empty()) {
      sqlite3_bind_text(diff.get(), p_from, from.pipeline.c_str(), -1, SQLITE_TRANSIENT);
    }
    if (!other.pipeline.empty()) {
      sqlite3_bind_text(diff.get(), p_other, other.pipeline.c_str(), -1, SQLITE_TRANSIENT);
    }
    const std::string other_where =
        other.pipeline.empty() ? "" : fmt::format(" AND pipeline = ?{}", n + 1);
    ONCEFLOW_ASSIGN_OR_RETURN(
        SqliteStmt lookup,
        db->Prepare(fmt::format("SELECT count(*) FROM {}.{} WHERE {}{}", other.schema,
                                QuoteIdentifier(table), match, other_where)));
    while (true) {
      ONCEFLOW_ASSIGN_OR_RETURN(bool row, db->Step(diff.get()));
      if (!row) break;
      const int64_t here = sqlite3_column_int64(diff.get(), n);
      sqlite3_reset(lookup.get());
      for (int c = 0; c < n; ++c)
        sqlite3_bind_value(lookup.get(), c + 1, sqlite3_column_value(diff.get(), c));
      if (!other.pipeline.empty()) {
        sqlite3_bind_text(lookup.get(), n + 1, other.pipeline.c_str(), -1, SQLITE_TRANSIENT);
      }
      ONCEFLOW_ASSIGN_OR_RETURN(bool found, db->Step(lookup.get()));
      const int64_t there = found ? sqlite3_column_int64(lookup.get(), 0) : 0;
      // A row on both sides with different counts is reported once, from the sink's side.
      if (!sink_side && there > 0) continue;
      const int64_t in_sink = sink_side ? here : there;
      const int64_t in_ref = sink_side ? there : here;
      if (++differing > kShownPerTable) continue;
      std::string shown;
      for (int c = 0; c < n; ++c) {
        shown += fmt::format("{}{}={}", c == 0 ? "" : ", ", columns[static_cast<size_t>(c)],
                             Render(diff.get(), c));
      }
      const char* what = in_ref == 0 ? "PHANTOM" : in_sink < in_ref ? "LOST" : "DUPLICATED";
      violations->push_back(fmt::format(
          "{}: table {}: row ({}) is {} time(s) in the sink, {} time(s) in the reference run", what,
          table, shown, in_sink, in_ref));
    }
  }
  if (differing > kShownPerTable) {
    violations->push_back(fmt::format("table {}: {} more differing rows not shown", table,
                                      differing - kShownPerTable));
  }
  if (differing == 0) {
    same->push_back(
        fmt::format("table {}: {} rows, identical to the reference run's", table, sink_rows));
  } else {
    violations->push_back(fmt::format("table {}: {} rows in the sink, {} in the reference run",
                                      table, sink_rows, ref_rows));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> CompareSqliteSinks(const std::string& sink_db,
                                                    const std::string& sink_pipeline,
                                                    const std::string& reference_db,
                                                    const std::string& reference_pipeline,
                                                    std::vector<std::string>* same) {
  ONCEFLOW_ASSIGN_OR_RETURN(SinkPair db, SinkPair::Open(sink_db, reference_db));
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> tables, db.Tables("main"));
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> ref_tables, db.Tables("ref"));
  std::vector<std::string> violations;
  for (const std::string& t : ref_tables) {
    if (std::find(tables.begin(), tables.end(), t) == tables.end()) {
      violations.push_back(fmt::format("table {} is in the reference run's database, not in the "
                                       "sink's",
                                       t));
    }
  }
  for (const std::string& t : tables) {
    if (t == "onceflow_progress") continue;  // different pipelines, batches and times
    if (std::find(ref_tables.begin(), ref_tables.end(), t) == ref_tables.end()) {
      violations.push_back(
          fmt::format("table {} is in the sink, not in the reference run's database", t));
      continue;
    }
    if (t == "onceflow_dead_letters") {
      // The error text may name a batch or a watermark; the record is what must match.
      ONCEFLOW_RETURN_IF_ERROR(CompareTable(&db, t, {"partition", "offset", "raw"},
                                            {"main", sink_pipeline}, {"ref", reference_pipeline},
                                            &violations, same));
      continue;
    }
    ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> cols, db.Columns("main", t));
    ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> ref_cols, db.Columns("ref", t));
    if (cols != ref_cols) {
      violations.push_back(fmt::format("table {} has other columns in the reference run", t));
      continue;
    }
    ONCEFLOW_RETURN_IF_ERROR(
        CompareTable(&db, t, cols, {"main", ""}, {"ref", ""}, &violations, same));
  }
  return violations;
}

namespace {

// Runs the reference copy of `config`; returns its database.
Result<std::string> RunReference(config::PipelineConfig config, const std::string& data_dir,
                                 const std::string& work_dir) {
  config.name += kReferenceSuffix;
  const std::string db = JoinPath(work_dir, "reference.db");
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ONCEFLOW_RETURN_IF_ERROR(RemoveAll(db + suffix));
  }
  std::get<SqliteSinkOptions>(config.sink.options).path = db;
  const std::string checkpoint = checkpoint::CheckpointDir(data_dir, config.name);
  ONCEFLOW_RETURN_IF_ERROR(RemoveAll(checkpoint));
  ONCEFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> pipeline,
                            internal::PipelineAccess::FromConfig(config));
  RunOptions run;
  run.data_dir = data_dir;
  run.until_caught_up = true;
  run.on_log = [](const std::string&) {};
  Status s = pipeline->Run(run);
  if (!s.ok()) {
    return Err(Status::Aborted("the reference run (pipeline '" + config.name +
                               "', without faults) failed: " + s.message()));
  }
  // Its checkpoint is of no further use; its database stays for a look.
  ONCEFLOW_RETURN_IF_ERROR(RemoveAll(checkpoint));
  return db;
}

}  // namespace

Status AuditChaos(const ChaosTarget& target, const std::optional<AuditKey>& key,
                  ChaosTally* tally) {
  ONCEFLOW_ASSIGN_OR_RETURN(VerifyReport report,
                            audit::VerifyPipeline(target.config, target.data_dir,
                                                  ResetCommand(target.toml, target.data_dir)));
  if (report.ok()) {
    tally->audit.push_back("verify: OK: " + (report.summary.empty() ? "" : report.summary.front()));
  }
  for (const std::string& v : report.violations) tally->violations.push_back("verify: " + v);

  const SqliteSinkOptions* sqlite = target.config.sink.sqlite();
  if (target.config.source.type() != "log" || sqlite == nullptr || sqlite->path == ":memory:") {
    tally->audit.push_back(fmt::format(
        "input-vs-output: not made (it needs the embedded log as source and a SQLite sink; this "
        "pipeline reads {} and writes to {}): verify only",
        target.config.source.type(), target.config.sink.type()));
    return Status::Ok();
  }
  ONCEFLOW_ASSIGN_OR_RETURN(std::string reference,
                            RunReference(target.config, target.data_dir, target.work_dir));
  std::vector<std::string> same;
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> differences,
                            CompareSqliteSinks(sqlite->path, target.config.name, reference,
                                               target.config.name + kReferenceSuffix, &same));
  for (const std::string& s : same) tally->audit.push_back("input-vs-output (reference run): " + s);
  for (const std::string& d : differences) {
    tally->violations.push_back("input-vs-output (reference run " + reference + "): " + d);
  }
  if (key) {
    std::string summary;
    ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> wrong,
                              AuditRecordKeys(target, *key, &summary));
    if (wrong.empty()) tally->audit.push_back("input-vs-output (per record): " + summary);
    for (const std::string& w : wrong)
      tally->violations.push_back("input-vs-output (per record): " + w);
  }
  return Status::Ok();
}

}  // namespace onceflow::cli
