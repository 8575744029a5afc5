// SqliteSink: the progress-row protocol on SQLite: output, dead letters and progress rows of a
// batch's tasks in one transaction.
#include "sink/sqlite_sink.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "sink/sink_protocol.h"
#include "sink/sqlite_additive_writer.h"
#include "sink/sqlite_checkpointer.h"
#include "sink/sqlite_db.h"
#include "sink/sqlite_row_writer.h"
#include "sink/transactional_sink.h"

namespace onceflow::sink {
namespace {

constexpr char kCreateProgress[] =
    "CREATE TABLE IF NOT EXISTS onceflow_progress("
    "pipeline TEXT NOT NULL, task INTEGER NOT NULL, last_batch INTEGER NOT NULL, "
    "epoch INTEGER NOT NULL, ranges TEXT NOT NULL, committed_at_ms INTEGER NOT NULL, "
    "source TEXT, started TEXT, output_digest TEXT, PRIMARY KEY(pipeline, task))";
// The columns added since the table's first version, for tables made by an older onceflow
// (docs/formats/sink_progress.md): NULL in the rows they already hold means "not known".
constexpr const char* kAddedColumns[] = {"source", "started", "output_digest"};
constexpr char kCreateDeadLetters[] =
    "CREATE TABLE IF NOT EXISTS onceflow_dead_letters("
    "pipeline TEXT NOT NULL, batch INTEGER NOT NULL, partition INTEGER NOT NULL, "
    "\"offset\" INTEGER NOT NULL, raw BLOB, error TEXT NOT NULL)";
constexpr char kReadTask[] =
    "SELECT last_batch, epoch, ranges, source, started, output_digest FROM onceflow_progress "
    "WHERE pipeline = ?1 AND task = ?2";
constexpr char kReadPipeline[] =
    "SELECT task, last_batch, epoch, ranges, source, started, output_digest "
    "FROM onceflow_progress "
    "WHERE pipeline = ?1 AND last_batch >= 0 ORDER BY task";
constexpr char kWriteProgress[] =
    "INSERT INTO onceflow_progress(pipeline, task, last_batch, epoch, ranges, committed_at_ms, "
    "source, started, output_digest) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT(pipeline, task) DO "
    "UPDATE SET last_batch = excluded.last_batch, epoch = excluded.epoch, "
    "ranges = excluded.ranges, committed_at_ms = excluded.committed_at_ms, "
    "source = excluded.source, started = excluded.started, "
    "output_digest = excluded.output_digest";
constexpr char kDeleteProgress[] = "DELETE FROM onceflow_progress WHERE pipeline = ?1";
constexpr char kWriteDeadLetter[] =
    "INSERT INTO onceflow_dead_letters(pipeline, batch, partition, \"offset\", raw, error) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6)";

// Resets a statement when leaving a scope, so that no read stays open on any path.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() { sqlite3_reset(stmt_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* const stmt_;
};

// Binds a copy of `text`: for the few per-task values, whose owners may not outlive the
// statement's bindings.
int BindCopy(sqlite3_stmt* stmt, int index, std::string_view text) {
  return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

Status ValidateOptions(const SqliteSinkOptions& o) {
  if (o.path.empty()) return Status::InvalidArgument("sqlite sink: sink.path is required");
  const std::string where = "sqlite " + o.path + ": ";
  if (o.busy_timeout_ms < 0) {
    return Status::InvalidArgument(where + "the busy timeout must not be negative");
  }
  ONCEFLOW_RETURN_IF_ERROR(ValidateModeOptions(where, o.mode, o.table, o.key, o.statements));
  if (o.mode != SinkMode::kAdditive) return Status::Ok();
  return ValidateAdditiveOptions(where, o.add, o.append);
}

// The commit and claim transactions are TransactionalSink's; this class supplies the SQL.
class SqliteSink final : public TransactionalSink {
 public:
  explicit SqliteSink(SqliteSinkOptions options) : options_(std::move(options)) {}
  ~SqliteSink() override { Close(); }

  Status Open() override;
  Result<std::map<int32_t, TaskProgress>> ReadProgress(const std::string& pipeline) override;
  Status DeleteProgress(const std::string& pipeline) override;
  std::string Describe() const override { return "sqlite " + options_.path; }

 private:
  Status NotOpen() const {
    return Status::InvalidArgument(Describe() + ": the sink is not open; call Open() first");
  }

  // Open() once the lock is held; leaves members half set on failure, for Close() to drop.
  Status OpenLocked();
  // Adds the columns an older onceflow's progress table lacks, in one write transaction (so
  // that processes opening the same file together do not race).
  Status MigrateProgressTable();
  // Drops the statements, then the connection.
  void Close();
  // Before a commit: the connection's file must still be the one at the path. A database
  // deleted (or replaced) under a running pipeline would take the commit into a file that
  // nobody will ever read again, and a restart would find the rows gone.
  Status CheckFileIsOurs(std::string_view what) const;
  // TransactionalSink's hooks: BEGIN IMMEDIATE, the progress rows read one by one, a claim
  // written as a whole progress row, COMMIT after checking that the file is still ours.
  Status Begin(const std::string& what) override;
  Status ReadProgressRows(std::span<const TaskCommit> tasks,
                          std::vector<std::optional<TaskProgress>>* stored) override;
  Result<std::optional<TaskProgress>> ReadClaimRow(const std::string& pipeline,
                                                   int32_t task) override {
    return ReadTask(pipeline, task);
  }
  Status WriteClaim(const std::string& pipeline, int32_t task, const TaskProgress& after) override {
    return WriteProgress(pipeline, task, after, NowMs());
  }
  Status CommitTransaction(const std::string& what) override;
  Result<std::optional<TaskProgress>> ReadTask(const std::string& pipeline, int32_t task);
  // Decodes a progress row from `stmt`'s columns first..first+5 (last_batch, epoch, ranges,
  // source, started, output_digest).
  Result<TaskProgress> ProgressFromColumns(sqlite3_stmt* stmt, int first,
                                           const std::string& pipeline, int32_t task);
  // Writes rows of `t`, and dead letters for those that fail.
  Status WriteRows(const TaskCommit& t, std::span<const SinkRow> rows) override;
  Status WriteDeadLetter(const TaskCommit& t, PartitionId partition, Offset offset,
                         std::string_view raw, std::string_view error) override;
  Status FinishRows() override { return writer_->Finish(); }
  Status WriteProgress(const std::string& pipeline, int32_t task, const TaskProgress& row,
                       int64_t now_ms) override;
  void Rollback() override;

  const SqliteSinkOptions options_;

  // Everything below is guarded by mu_ (TransactionalSink's): one connection, one commit at a
  // time. Declared before the statements so that they are finalized before it closes.
  std::unique_ptr<SqliteDb> db_;
  Statement begin_;
  Statement commit_;
  Statement rollback_;
  Statement read_task_;
  Statement read_pipeline_;
  Statement write_progress_;
  Statement write_dead_letter_;
  Statement delete_progress_;
  std::unique_ptr<RowWriter> writer_;
  // Copies the WAL into the database file after commits, off the commit's path (none for an
  // in-memory database).
  std::unique_ptr<SqliteCheckpointer> checkpointer_;
  std::vector<RowError> row_errors_;  // scratch for WriteRows, kept to reuse its memory
};

Status SqliteSink::Open() {
  std::lock_guard lock(mu_);
  if (db_ != nullptr) return Status::Ok();
  Status s = OpenLocked();
  if (!s.ok()) Close();
  return s;
}

Status SqliteSink::OpenLocked() {
  ONCEFLOW_ASSIGN_OR_RETURN(db_, SqliteDb::Open(options_.path, options_.busy_timeout_ms));
  SqliteDb* db = db_.get();
  for (size_t i = 0; i < options_.init.size(); ++i) {
    ONCEFLOW_RETURN_IF_ERROR(
        db->Exec(options_.init[i], "sink.init statement " + std::to_string(i + 1)));
  }
  ONCEFLOW_RETURN_IF_ERROR(db->Exec(kCreateProgress, "create onceflow_progress"));
  ONCEFLOW_RETURN_IF_ERROR(db->Exec(kCreateDeadLetters, "create onceflow_dead_letters"));
  ONCEFLOW_RETURN_IF_ERROR(MigrateProgressTable());
  if (options_.path != ":memory:") {
    ONCEFLOW_RETURN_IF_ERROR(
        db->Exec("PRAGMA wal_autocheckpoint=0", "turn the automatic checkpoint off"));
    ONCEFLOW_ASSIGN_OR_RETURN(checkpointer_,
                              SqliteCheckpointer::Start(options_.path, options_.busy_timeout_ms));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(begin_, db->Prepare("BEGIN IMMEDIATE", "begin the commit transaction"));
  ONCEFLOW_ASSIGN_OR_RETURN(commit_, db->Prepare("COMMIT", "commit"));
  ONCEFLOW_ASSIGN_OR_RETURN(rollback_, db->Prepare("ROLLBACK", "roll back"));
  ONCEFLOW_ASSIGN_OR_RETURN(read_task_, db->Prepare(kReadTask, "read a progress row"));
  ONCEFLOW_ASSIGN_OR_RETURN(read_pipeline_, db->Prepare(kReadPipeline, "read the progress rows"));
  ONCEFLOW_ASSIGN_OR_RETURN(write_progress_, db->Prepare(kWriteProgress, "write a progress row"));
  ONCEFLOW_ASSIGN_OR_RETURN(write_dead_letter_,
                            db->Prepare(kWriteDeadLetter, "write a dead letter"));
  ONCEFLOW_ASSIGN_OR_RETURN(delete_progress_,
                            db->Prepare(kDeleteProgress, "delete the progress rows"));
  if (options_.mode == SinkMode::kStatements) {
    ONCEFLOW_ASSIGN_OR_RETURN(writer_, MakeStatementsWriter(db, options_.statements));
  } else if (options_.mode == SinkMode::kAdditive) {
    ONCEFLOW_ASSIGN_OR_RETURN(writer_, MakeAdditiveWriter(db, options_.add, options_.append));
  } else {
    std::span<const std::string> key;
    if (options_.mode == SinkMode::kUpsert) key = options_.key;
    ONCEFLOW_ASSIGN_OR_RETURN(writer_, MakeTableWriter(db, options_.table, key));
  }
  return Status::Ok();
}

Status SqliteSink::MigrateProgressTable() {
  ONCEFLOW_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE", "begin the progress table's migration"));
  Status s;
  std::set<std::string> columns;
  {
    Result<Statement> info =
        db_->Prepare("PRAGMA table_info(onceflow_progress)", "read the progress table's columns");
    if (!info.has_value()) {
      s = info.error();
    } else {
      int rc;
      while ((rc = sqlite3_step(info->get())) == SQLITE_ROW) {
        const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(info->get(), 1));
        if (name != nullptr) columns.insert(name);
      }
      if (rc != SQLITE_DONE) s = db_->Error(rc, "read the progress table's columns");
    }
  }
  for (const char* column : kAddedColumns) {
    if (!s.ok() || columns.contains(column)) continue;
    s = db_->Exec("ALTER TABLE onceflow_progress ADD COLUMN " + std::string(column) + " TEXT",
                  "add the column " + std::string(column) + " to onceflow_progress");
  }
  if (s.ok()) s = db_->Exec("COMMIT", "commit the progress table's migration");
  if (!s.ok() && db_->InTransaction()) {
    db_->Exec("ROLLBACK", "roll back").IgnoreError();  // the first error is the one reported
  }
  return s;
}

Status SqliteSink::CheckFileIsOurs(std::string_view what) const {
  if (options_.path == ":memory:") return Status::Ok();
  int moved = 0;
  if (sqlite3_file_control(db_->handle(), "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK ||
      moved == 0) {
    return Status::Ok();
  }
  struct stat st {};
  const bool gone = ::stat(options_.path.c_str(), &st) != 0;
  return Status::Aborted(
      Describe() + ": " + std::string(what) + ": the database file was " +
      (gone ? "deleted" : "replaced by another file") +
      " since the sink opened it; refusing "
      "to commit into a file that is no longer at its path (nothing was committed). A restart "
      "checks the database it finds there against the pipeline's checkpoint");
}

Status SqliteSink::DeleteProgress(const std::string& pipeline) {
  std::lock_guard lock(mu_);
  if (db_ == nullptr) return NotOpen();
  ONCEFLOW_RETURN_IF_ERROR(db_->Run(begin_.get(), "begin deleting the progress rows"));
  BindCopy(delete_progress_.get(), 1, pipeline);
  Status s =
      db_->Run(delete_progress_.get(), "delete the progress rows of pipeline '" + pipeline + "'");
  if (s.ok()) s = CheckFileIsOurs("delete the progress rows");
  if (s.ok()) s = db_->Run(commit_.get(), "commit the deletion of the progress rows");
  if (!s.ok()) Rollback();
  return s;
}

Result<std::map<int32_t, TaskProgress>> SqliteSink::ReadProgress(const std::string& pipeline) {
  std::lock_guard lock(mu_);
  if (db_ == nullptr) return Err(NotOpen());
  sqlite3_stmt* stmt = read_pipeline_.get();
  ResetOnExit reset(stmt);
  BindCopy(stmt, 1, pipeline);
  std::map<int32_t, TaskProgress> progress;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const auto task = static_cast<int32_t>(sqlite3_column_int64(stmt, 0));
    ONCEFLOW_ASSIGN_OR_RETURN(progress[task], ProgressFromColumns(stmt, 1, pipeline, task));
  }
  if (rc != SQLITE_DONE) return Err(db_->Error(rc, "read the progress rows"));
  return progress;
}

Status SqliteSink::Begin(const std::string& what) {
  if (db_ == nullptr) return NotOpen();
  return db_->Run(begin_.get(), what);
}

Status SqliteSink::ReadProgressRows(std::span<const TaskCommit> tasks,
                                    std::vector<std::optional<TaskProgress>>* stored) {
  for (size_t i = 0; i < tasks.size(); ++i) {
    ONCEFLOW_ASSIGN_OR_RETURN((*stored)[i], ReadTask(tasks[i].pipeline, tasks[i].task));
  }
  return Status::Ok();
}

Status SqliteSink::CommitTransaction(const std::string& what) {
  Status s = CheckFileIsOurs(what);
  if (s.ok()) s = db_->Run(commit_.get(), what);
  writer_->ClearBindings();
  if (checkpointer_ != nullptr) {
    if (s.ok()) checkpointer_->Wake();
    if (std::string failed = checkpointer_->TakeFailure(); !failed.empty()) {
      Log(options_.path + ": background checkpoint failed (" + failed +
          "); every commit stays in the WAL, and the checkpoint is tried again after the next "
          "commit");
    }
  }
  return s;
}

Status SqliteSink::WriteRows(const TaskCommit& t, std::span<const SinkRow> rows) {
  row_errors_.clear();
  ONCEFLOW_RETURN_IF_ERROR(writer_->Write(rows, &row_errors_));
  for (const RowError& e : row_errors_) {
    const SinkRow& r = rows[e.index];
    ONCEFLOW_RETURN_IF_ERROR(WriteDeadLetter(t, r.partition, r.offset, r.row.ToJson(), e.message));
  }
  return Status::Ok();
}

Result<std::optional<TaskProgress>> SqliteSink::ReadTask(const std::string& pipeline,
                                                         int32_t task) {
  sqlite3_stmt* stmt = read_task_.get();
  ResetOnExit reset(stmt);
  BindCopy(stmt, 1, pipeline);
  sqlite3_bind_int(stmt, 2, task);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return Err(db_->Error(rc, "read the progress row"));
  return ProgressFromColumns(stmt, 0, pipeline, task);
}

Result<TaskProgress> SqliteSink::ProgressFromColumns(sqlite3_stmt* stmt, int first,
                                                     const std::string& pipeline, int32_t task) {
  TaskProgress p;
  p.last_batch = BatchId(sqlite3_column_int64(stmt, first));
  p.epoch = Epoch(sqlite3_column_int64(stmt, first + 1));
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, first + 2));
  Result<std::vector<TaskRange>> ranges = DecodeRanges(text != nullptr ? text : "");
  if (!ranges.has_value()) {
    return Err(Status::Corruption(Describe() + ": the progress row of " + TaskName(pipeline, task) +
                                  ": " + ranges.error().message()));
  }
  p.ranges = std::move(ranges).value();
  const auto* source = reinterpret_cast<const char*>(sqlite3_column_text(stmt, first + 3));
  if (source != nullptr) p.source = source;
  const auto* started = reinterpret_cast<const char*>(sqlite3_column_text(stmt, first + 4));
  Result<TaskStarts> starts = StartsFromColumn(
      started != nullptr ? std::optional<std::string_view>(started) : std::nullopt, p.ranges);
  if (!starts.has_value()) {
    return Err(Status::Corruption(Describe() + ": the progress row of " + TaskName(pipeline, task) +
                                  ": " + starts.error().message()));
  }
  p.started = std::move(starts).value();
  const auto* digest = reinterpret_cast<const char*>(sqlite3_column_text(stmt, first + 5));
  if (digest != nullptr) {  // NULL: not known (an older row, or a commit without a digest)
    p.digest = DecodeDigest(digest);
    if (!p.digest.has_value()) {
      return Err(Status::Corruption(Describe() + ": the progress row of " +
                                    TaskName(pipeline, task) + ": bad output_digest '" + digest +
                                    "'"));
    }
  }
  return p;
}

Status SqliteSink::WriteDeadLetter(const TaskCommit& t, PartitionId partition, Offset offset,
                                   std::string_view raw, std::string_view error) {
  sqlite3_stmt* stmt = write_dead_letter_.get();
  BindCopy(stmt, 1, t.pipeline);
  sqlite3_bind_int64(stmt, 2, t.batch.value());
  sqlite3_bind_int64(stmt, 3, partition.value());
  sqlite3_bind_int64(stmt, 4, offset.value());
  // Text when it is text (queryable with SQL's string and JSON functions), bytes otherwise.
  if (IsValidUtf8(raw)) {
    BindCopy(stmt, 5, raw);
  } else {
    sqlite3_bind_blob64(stmt, 5, raw.data(), raw.size(), SQLITE_TRANSIENT);
  }
  BindCopy(stmt, 6, error);
  return db_->Run(stmt, "write a dead letter");
}

Status SqliteSink::WriteProgress(const std::string& pipeline, int32_t task, const TaskProgress& row,
                                 int64_t now_ms) {
  sqlite3_stmt* stmt = write_progress_.get();
  BindCopy(stmt, 1, pipeline);
  sqlite3_bind_int(stmt, 2, task);
  sqlite3_bind_int64(stmt, 3, row.last_batch.value());
  sqlite3_bind_int64(stmt, 4, row.epoch.value());
  BindCopy(stmt, 5, EncodeRanges(row.ranges));
  sqlite3_bind_int64(stmt, 6, now_ms);
  if (row.source.empty()) {
    sqlite3_bind_null(stmt, 7);  // not known yet, as in a row from before the column
  } else {
    BindCopy(stmt, 7, row.source);
  }
  BindCopy(stmt, 8, EncodeStarts(row.started));
  if (row.digest.has_value()) {
    BindCopy(stmt, 9, EncodeDigest(*row.digest));
  } else {
    sqlite3_bind_null(stmt, 9);
  }
  return db_->Run(stmt, "write the progress row of " + TaskName(pipeline, task));
}

void SqliteSink::Close() {
  checkpointer_.reset();
  writer_.reset();
  for (Statement* stmt : {&begin_, &commit_, &rollback_, &read_task_, &read_pipeline_,
                          &write_progress_, &write_dead_letter_, &delete_progress_}) {
    stmt->reset();
  }
  db_.reset();
}

void SqliteSink::Rollback() {
  writer_->ClearBindings();
  if (!db_->InTransaction()) return;  // SQLite already rolled back (e.g. after a full disk)
  // Nothing better can be done if ROLLBACK itself fails; the caller reports the first error.
  db_->Run(rollback_.get(), "roll back").IgnoreError();
}

}  // namespace

Result<std::unique_ptr<Sink>> MakeSqliteSink(SqliteSinkOptions options) {
  ONCEFLOW_RETURN_IF_ERROR(ValidateOptions(options));
  return std::make_unique<SqliteSink>(std::move(options));
}

}  // namespace onceflow::sink
