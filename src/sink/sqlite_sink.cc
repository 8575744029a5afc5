// SqliteSink: the progress-row protocol on SQLite: output, dead letters and progress rows of a
// batch's tasks in one transaction.
#include "sink/sqlite_sink.h"

#include <algorithm>

#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "sink/sqlite_checkpointer.h"
#include "sink/sqlite_db.h"
#include "sink/sink_protocol.h"
#include "sink/sqlite_row_writer.h"
#include "util/fault_points.h"

namespace onceflow::sink {
namespace {

constexpr char kCreateProgress[] =
    "CREATE TABLE IF NOT EXISTS onceflow_progress("
    "pipeline TEXT NOT NULL, task INTEGER NOT NULL, last_batch INTEGER NOT NULL, "
    "epoch INTEGER NOT NULL, ranges TEXT NOT NULL, committed_at_ms INTEGER NOT NULL, "
    "PRIMARY KEY(pipeline, task))";
constexpr char kCreateDeadLetters[] =
    "CREATE TABLE IF NOT EXISTS onceflow_dead_letters("
    "pipeline TEXT NOT NULL, batch INTEGER NOT NULL, partition INTEGER NOT NULL, "
    "\"offset\" INTEGER NOT NULL, raw BLOB, error TEXT NOT NULL)";
constexpr char kReadTask[] =
    "SELECT last_batch, epoch, ranges FROM onceflow_progress WHERE pipeline = ?1 AND task = ?2";
constexpr char kReadPipeline[] =
    "SELECT task, last_batch, epoch, ranges FROM onceflow_progress WHERE pipeline = ?1 "
    "AND last_batch >= 0 ORDER BY task";
constexpr char kWriteProgress[] =
    "INSERT INTO onceflow_progress(pipeline, task, last_batch, epoch, ranges, committed_at_ms) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(pipeline, task) DO UPDATE SET "
    "last_batch = excluded.last_batch, epoch = excluded.epoch, ranges = excluded.ranges, "
    "committed_at_ms = excluded.committed_at_ms";
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
  return ValidateModeOptions(where, o.mode, o.table, o.key, o.statements);
}

class SqliteSink final : public Sink, private TransactionWrites {
 public:
  explicit SqliteSink(SqliteSinkOptions options) : options_(std::move(options)) {}
  ~SqliteSink() override { Close(); }

  Status Open() override;
  Result<std::map<int32_t, TaskProgress>> ReadProgress(const std::string& pipeline) override;
  Result<std::vector<CommitOutcome>> Commit(std::span<const TaskCommit> tasks) override;
  Result<std::map<int32_t, TaskProgress>> Claim(const std::string& pipeline,
                                                std::span<const int32_t> tasks,
                                                Epoch epoch) override;
  std::string Describe() const override { return "sqlite " + options_.path; }

 private:
  Status NotOpen() const {
    return Status::InvalidArgument(Describe() + ": the sink is not open; call Open() first");
  }

  // Open() once the lock is held; leaves members half set on failure, for Close() to drop.
  Status OpenLocked();
  // Drops the statements, then the connection.
  void Close();
  // Everything between BEGIN and COMMIT. Sets `*wrote` when some task is to be committed.
  Status WriteTransaction(std::span<const TaskCommit> tasks, std::vector<CommitOutcome>* outcomes,
                          bool* wrote);
  // Reads the task's progress row and decides: fenced, already committed or to be written.
  Result<CommitOutcome> CheckTask(const TaskCommit& t);
  Result<std::optional<TaskProgress>> ReadTask(const std::string& pipeline, int32_t task);
  // Decodes a progress row from `stmt`'s columns first..first+2 (last_batch, epoch, ranges).
  Result<TaskProgress> ProgressFromColumns(sqlite3_stmt* stmt, int first,
                                           const std::string& pipeline, int32_t task);
  // Writes rows of `t`, and dead letters for those that fail.
  Status WriteRows(const TaskCommit& t, std::span<const SinkRow> rows) override;
  Status WriteDeadLetter(const TaskCommit& t, PartitionId partition, Offset offset,
                         std::string_view raw, std::string_view error) override;
  Status WriteProgress(const TaskCommit& t, int64_t now_ms) override;
  // Rolls back whatever transaction is open; the error that led here is the one reported.
  void Rollback();

  const SqliteSinkOptions options_;

  // Guards everything below: one connection, one commit at a time.
  std::mutex mu_;
  // Declared before the statements so that they are finalized before it closes.
  std::unique_ptr<SqliteDb> db_;
  Statement begin_;
  Statement commit_;
  Statement rollback_;
  Statement read_task_;
  Statement read_pipeline_;
  Statement write_progress_;
  Statement write_dead_letter_;
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
  ASSIGN_OR_RETURN(db_, SqliteDb::Open(options_.path, options_.busy_timeout_ms));
  SqliteDb* db = db_.get();
  for (size_t i = 0; i < options_.init.size(); ++i) {
    RETURN_IF_ERROR(db->Exec(options_.init[i], "sink.init statement " + std::to_string(i + 1)));
  }
  RETURN_IF_ERROR(db->Exec(kCreateProgress, "create onceflow_progress"));
  RETURN_IF_ERROR(db->Exec(kCreateDeadLetters, "create onceflow_dead_letters"));
  if (options_.path != ":memory:") {
    RETURN_IF_ERROR(db->Exec("PRAGMA wal_autocheckpoint=0", "turn the automatic checkpoint off"));
    ASSIGN_OR_RETURN(checkpointer_,
                     SqliteCheckpointer::Start(options_.path, options_.busy_timeout_ms));
  }
  ASSIGN_OR_RETURN(begin_, db->Prepare("BEGIN IMMEDIATE", "begin the commit transaction"));
  ASSIGN_OR_RETURN(commit_, db->Prepare("COMMIT", "commit"));
  ASSIGN_OR_RETURN(rollback_, db->Prepare("ROLLBACK", "roll back"));
  ASSIGN_OR_RETURN(read_task_, db->Prepare(kReadTask, "read a progress row"));
  ASSIGN_OR_RETURN(read_pipeline_, db->Prepare(kReadPipeline, "read the progress rows"));
  ASSIGN_OR_RETURN(write_progress_, db->Prepare(kWriteProgress, "write a progress row"));
  ASSIGN_OR_RETURN(write_dead_letter_, db->Prepare(kWriteDeadLetter, "write a dead letter"));
  if (options_.mode == SinkMode::kStatements) {
    ASSIGN_OR_RETURN(writer_, MakeStatementsWriter(db, options_.statements));
  } else {
    std::span<const std::string> key;
    if (options_.mode == SinkMode::kUpsert) key = options_.key;
    ASSIGN_OR_RETURN(writer_, MakeTableWriter(db, options_.table, key));
  }
  return Status::Ok();
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
    ASSIGN_OR_RETURN(progress[task], ProgressFromColumns(stmt, 1, pipeline, task));
  }
  if (rc != SQLITE_DONE) return Err(db_->Error(rc, "read the progress rows"));
  return progress;
}

Result<std::vector<CommitOutcome>> SqliteSink::Commit(std::span<const TaskCommit> tasks) {
  RETURN_IF_ERROR(ValidateCommit(Describe(), tasks));
  std::lock_guard lock(mu_);
  if (db_ == nullptr) return Err(NotOpen());
  RETURN_IF_ERROR(db_->Run(begin_.get(), "begin the commit transaction"));
  std::vector<CommitOutcome> outcomes;
  outcomes.reserve(tasks.size());
  bool wrote = false;
  Status s = WriteTransaction(tasks, &outcomes, &wrote);
  if (s.ok() && wrote) s = faults::Hit("before_sink_commit");
  if (s.ok() && wrote) s = db_->Run(commit_.get(), "commit");
  writer_->ClearBindings();
  if (!s.ok()) {
    Rollback();
    return Err(std::move(s));
  }
  if (!wrote) {
    Rollback();  // every task was already committed: nothing to keep
    return outcomes;
  }
  if (checkpointer_ != nullptr) checkpointer_->Wake();
  // The batch is durable from here on; a failure now makes the caller retry, and the retry
  // finds the progress rows and reports kAlreadyCommitted.
  RETURN_IF_ERROR(faults::Hit("after_sink_commit"));
  return outcomes;
}

Result<std::map<int32_t, TaskProgress>> SqliteSink::Claim(const std::string& pipeline,
                                                         std::span<const int32_t> tasks,
                                                         Epoch epoch) {
  std::lock_guard lock(mu_);
  if (db_ == nullptr) return Err(NotOpen());
  RETURN_IF_ERROR(db_->Run(begin_.get(), "begin the claim transaction"));
  std::map<int32_t, TaskProgress> claimed;
  std::vector<int32_t> order(tasks.begin(), tasks.end());
  std::sort(order.begin(), order.end());  // as the PostgreSQL sink: the same task is named
  Status s;
  for (int32_t task : order) {
    Result<std::optional<TaskProgress>> stored = ReadTask(pipeline, task);
    if (!stored.has_value()) {
      s = stored.error();
      break;
    }
    Result<TaskProgress> after = DecideClaim(Describe(), pipeline, task, epoch, *stored);
    if (!after.has_value()) {
      s = after.error();
      break;
    }
    if (!stored->has_value() || (*stored)->epoch != epoch) {
      TaskCommit row;
      row.pipeline = pipeline;
      row.task = task;
      row.batch = after->last_batch;
      row.epoch = epoch;
      row.ranges = after->ranges;
      s = WriteProgress(row, NowMs());
      if (!s.ok()) break;
    }
    claimed[task] = std::move(after).value();
  }
  if (s.ok()) s = db_->Run(commit_.get(), "commit the claim");
  if (!s.ok()) {
    Rollback();
    return Err(std::move(s));
  }
  return claimed;
}

Status SqliteSink::WriteTransaction(std::span<const TaskCommit> tasks,
                                    std::vector<CommitOutcome>* outcomes, bool* wrote) {
  // Decide every task before writing anything: a fenced task or a gap fails the whole commit
  // early, and the number of rows to write places the mid_sink_write fault point.
  for (const TaskCommit& t : tasks) {
    ASSIGN_OR_RETURN(CommitOutcome outcome, CheckTask(t));
    outcomes->push_back(outcome);
    if (outcome == CommitOutcome::kCommitted) *wrote = true;
  }
  if (!*wrote) return Status::Ok();
  return WriteCommittedTasks(tasks, *outcomes, this);
}

Status SqliteSink::WriteRows(const TaskCommit& t, std::span<const SinkRow> rows) {
  row_errors_.clear();
  RETURN_IF_ERROR(writer_->Write(rows, &row_errors_));
  for (const RowError& e : row_errors_) {
    const SinkRow& r = rows[e.index];
    RETURN_IF_ERROR(WriteDeadLetter(t, r.partition, r.offset, r.row.ToJson(), e.message));
  }
  return Status::Ok();
}

Result<CommitOutcome> SqliteSink::CheckTask(const TaskCommit& t) {
  ASSIGN_OR_RETURN(std::optional<TaskProgress> stored, ReadTask(t.pipeline, t.task));
  return DecideTask(Describe(), t, stored);
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
    return Err(Status::Corruption(Describe() + ": the progress row of " +
                                  TaskName(pipeline, task) + ": " + ranges.error().message()));
  }
  p.ranges = std::move(ranges).value();
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

Status SqliteSink::WriteProgress(const TaskCommit& t, int64_t now_ms) {
  sqlite3_stmt* stmt = write_progress_.get();
  BindCopy(stmt, 1, t.pipeline);
  sqlite3_bind_int(stmt, 2, t.task);
  sqlite3_bind_int64(stmt, 3, t.batch.value());
  sqlite3_bind_int64(stmt, 4, t.epoch.value());
  BindCopy(stmt, 5, EncodeRanges(t.ranges));
  sqlite3_bind_int64(stmt, 6, now_ms);
  return db_->Run(stmt, "write the progress row of " + TaskName(t.pipeline, t.task));
}

void SqliteSink::Close() {
  checkpointer_.reset();
  writer_.reset();
  for (Statement* stmt : {&begin_, &commit_, &rollback_, &read_task_, &read_pipeline_,
                          &write_progress_, &write_dead_letter_}) {
    stmt->reset();
  }
  db_.reset();
}

void SqliteSink::Rollback() {
  if (!db_->InTransaction()) return;  // SQLite already rolled back (e.g. after a full disk)
  // Nothing better can be done if ROLLBACK itself fails; the caller reports the first error.
  db_->Run(rollback_.get(), "roll back").IgnoreError();
}

}  // namespace

Result<std::unique_ptr<Sink>> MakeSqliteSink(SqliteSinkOptions options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  return std::make_unique<SqliteSink>(std::move(options));
}

}  // namespace onceflow::sink
