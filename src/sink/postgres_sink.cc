// PostgresSink: the progress-row protocol on PostgreSQL: output, dead letters and progress rows
// of a batch's tasks in one transaction.
#include "sink/postgres_sink.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>

#include "sink/postgres_additive_writer.h"
#include "sink/postgres_conn.h"
#include "sink/postgres_conninfo.h"
#include "sink/postgres_row_writer.h"
#include "sink/sink_protocol.h"
#include "sink/transactional_sink.h"

namespace onceflow::sink {
namespace {

constexpr char kCreateProgress[] =
    "CREATE TABLE IF NOT EXISTS onceflow_progress("
    "pipeline TEXT NOT NULL, task INTEGER NOT NULL, last_batch BIGINT NOT NULL, "
    "epoch BIGINT NOT NULL, ranges TEXT NOT NULL, committed_at_ms BIGINT NOT NULL, "
    "source TEXT, started TEXT, output_digest TEXT, PRIMARY KEY(pipeline, task))";
// The columns added since the table's first version, for tables made by an older onceflow
// (docs/formats/sink_progress.md): NULL in the rows they already hold means "not known".
// (Checked first: ALTER TABLE takes the table's exclusive lock even when it changes nothing.)
constexpr char kCountAddedColumns[] =
    "SELECT count(*) FROM pg_attribute WHERE attrelid = 'onceflow_progress'::regclass AND "
    "attname IN ('source', 'started', 'output_digest') AND NOT attisdropped";
constexpr int kAddedColumnCount = 3;  // the columns kCountAddedColumns counts
constexpr char kMigrateProgress[] =
    "ALTER TABLE onceflow_progress ADD COLUMN IF NOT EXISTS source TEXT, "
    "ADD COLUMN IF NOT EXISTS started TEXT, ADD COLUMN IF NOT EXISTS output_digest TEXT";
constexpr char kCreateDeadLetters[] =
    "CREATE TABLE IF NOT EXISTS onceflow_dead_letters("
    "pipeline TEXT NOT NULL, batch BIGINT NOT NULL, partition INTEGER NOT NULL, "
    "\"offset\" BIGINT NOT NULL, raw BYTEA, error TEXT NOT NULL)";
// A placeholder (last_batch -1) makes the progress row exist, so that the FOR UPDATE below
// locks it even for a task's first commit: two first commits of one task serialise here. It
// never outlives the transaction: a commit that writes sets the row, any other rolls back.
constexpr char kPlaceholder[] =
    "INSERT INTO onceflow_progress(pipeline, task, last_batch, epoch, ranges, committed_at_ms) "
    "VALUES($1, $2, -1, 0, '', 0) ON CONFLICT (pipeline, task) DO NOTHING";
constexpr char kLockTask[] =
    "SELECT last_batch, epoch, ranges, source, started, output_digest FROM onceflow_progress "
    "WHERE pipeline = $1 AND task = $2 FOR UPDATE";
constexpr char kReadPipeline[] =
    "SELECT task, last_batch, epoch, ranges, source, started, output_digest "
    "FROM onceflow_progress "
    "WHERE pipeline = $1 AND last_batch >= 0 ORDER BY task";
constexpr char kWriteProgress[] =
    "UPDATE onceflow_progress SET last_batch = $3, epoch = $4, ranges = $5, "
    "committed_at_ms = $6, source = $7, started = $8, output_digest = $9 "
    "WHERE pipeline = $1 AND task = $2";
constexpr char kDeleteProgress[] = "DELETE FROM onceflow_progress WHERE pipeline = $1";
constexpr char kClaimTask[] =
    "UPDATE onceflow_progress SET epoch = $3 WHERE pipeline = $1 AND task = $2";
// An arbitrary key of onceflow's own ("onceflow" in ASCII) for pg_advisory_lock.
constexpr char kLockInit[] = "SELECT pg_advisory_lock(7957688164556877690)";
constexpr char kUnlockInit[] = "SELECT pg_advisory_unlock(7957688164556877690)";
constexpr char kWriteDeadLetter[] =
    "INSERT INTO onceflow_dead_letters(pipeline, batch, partition, \"offset\", raw, error) "
    "VALUES($1, $2, $3, $4, $5, $6)";

int64_t ParseInt(const char* text) {
  int64_t v = 0;
  std::from_chars(text, text + std::strlen(text), v);
  return v;
}

// The same Status with every secret of the connection string in its message masked.
Status Redact(Status s, const std::vector<std::string>& secrets) {
  if (s.ok()) return s;
  std::string m = MaskSecrets(s.message(), secrets);
  if (m == s.message()) return s;
  Status out;
  switch (s.code()) {
    case StatusCode::kIoError: out = Status::IoError(m); break;
    case StatusCode::kBusy: out = Status::Busy(m); break;
    case StatusCode::kInvalidArgument: out = Status::InvalidArgument(m); break;
    case StatusCode::kFenced: out = Status::Fenced(m); break;
    case StatusCode::kCorruption: out = Status::Corruption(m); break;
    default: out = Status::Aborted(m); break;
  }
  return out.WithRetryable(s.retryable());
}

// The commit and claim transactions are TransactionalSink's; this class supplies the SQL and
// the connection (reconnecting, pipelining the progress rows' locks).
class PostgresSink final : public TransactionalSink {
 public:
  PostgresSink(PostgresSinkOptions options, std::string describe)
      : options_(std::move(options)),
        describe_(std::move(describe)),
        secrets_(ConninfoSecrets(options_.conninfo)) {}

  Status Open() override;
  Result<std::map<int32_t, TaskProgress>> ReadProgress(const std::string& pipeline) override;
  Status DeleteProgress(const std::string& pipeline) override;
  std::string Describe() const override { return describe_; }

 private:
  Status NotOpen() const {
    return Status::InvalidArgument(describe_ + ": the sink is not open; call Open() first");
  }
  Status OpenLocked();
  // The init statements and the progress and dead-letter tables, under the init lock.
  Status InitLocked();
  // Reconnects if the connection is gone, with backoff up to reconnect_timeout_ms.
  Status EnsureConnected();
  // BEGIN on a connection made if missing. A connection found dead here (the server restarted
  // since the last commit) is replaced once: nothing of the transaction was sent yet. On
  // failure the connection is dropped: the next call starts on a new one.
  Status Begin(const std::string& what) override;
  Status BeginOnce(const std::string& what);
  // Locks and reads every task's progress row, in (pipeline, task) order, in one pipelined
  // round trip (a placeholder row first, so that a task's first commit locks too).
  Status ReadProgressRows(std::span<const TaskCommit> tasks,
                          std::vector<std::optional<TaskProgress>>* stored) override;
  // The task's row, placeholder made and locked: always one.
  Result<std::optional<TaskProgress>> ReadClaimRow(const std::string& pipeline,
                                                   int32_t task) override;
  // Only the epoch changes.
  Status WriteClaim(const std::string& pipeline, int32_t task, const TaskProgress& after) override;
  // COMMIT, checking that the server did commit (a transaction in error answers ROLLBACK).
  Status CommitTransaction(const std::string& what) override;
  void Rollback() override;
  Status FinishRows() override { return writer_->Finish(conn_.get()); }
  Status Outward(Status s) const override { return Redact(std::move(s), secrets_); }
  Status WriteRows(const TaskCommit& t, std::span<const SinkRow> rows) override;
  Status WriteDeadLetter(const TaskCommit& t, PartitionId partition, Offset offset,
                         std::string_view raw, std::string_view error) override;
  Status WriteProgress(const std::string& pipeline, int32_t task, const TaskProgress& row,
                       int64_t now_ms) override;
  Result<TaskProgress> ProgressFrom(const PGresult* r, int row, int first,
                                    const std::string& pipeline, int32_t task) const;

  const PostgresSinkOptions options_;
  const std::string describe_;
  // Every form of every secret in the connection string: masked in every message.
  const std::vector<std::string> secrets_;

  // Everything below is guarded by mu_ (TransactionalSink's): one connection, one commit at a
  // time.
  std::unique_ptr<PgConn> conn_;
  std::unique_ptr<PgRowWriter> writer_;  // set once Open() succeeded
  std::vector<RowError> row_errors_;
};

Status PostgresSink::Open() {
  std::lock_guard lock(mu_);
  if (writer_ != nullptr) return Status::Ok();
  Status s = Redact(OpenLocked(), secrets_);
  if (!s.ok()) {
    writer_.reset();
    conn_.reset();
  }
  return s;
}

Status PostgresSink::OpenLocked() {
  ONCEFLOW_ASSIGN_OR_RETURN(conn_, PgConn::Connect(options_.conninfo, describe_));
  // CREATE ... IF NOT EXISTS is not safe against itself: processes of one pipeline that start
  // together (scale-out) fail on PostgreSQL's unique index of type names. A session advisory
  // lock serialises the init statements of every onceflow sink on the server.
  ONCEFLOW_RETURN_IF_ERROR(conn_->Exec(kLockInit, "lock the init statements"));
  Status init = InitLocked();
  Status unlock = conn_->Exec(kUnlockInit, "unlock the init statements");
  ONCEFLOW_RETURN_IF_ERROR(init);
  ONCEFLOW_RETURN_IF_ERROR(unlock);
  if (options_.mode == SinkMode::kStatements) {
    ONCEFLOW_ASSIGN_OR_RETURN(writer_, MakePgStatementsWriter(conn_.get(), options_.statements));
  } else if (options_.mode == SinkMode::kAdditive) {
    ONCEFLOW_ASSIGN_OR_RETURN(writer_,
                              MakePgAdditiveWriter(conn_.get(), options_.add, options_.append));
  } else {
    std::span<const std::string> key;
    if (options_.mode == SinkMode::kUpsert) key = options_.key;
    ONCEFLOW_ASSIGN_OR_RETURN(writer_, MakePgTableWriter(conn_.get(), options_.table, key));
  }
  return Status::Ok();
}

Status PostgresSink::InitLocked() {
  for (size_t i = 0; i < options_.init.size(); ++i) {
    ONCEFLOW_RETURN_IF_ERROR(conn_->Exec(options_.init[i],
                                         "sink.init statement " + std::to_string(i + 1),
                                         /*config=*/true));
  }
  ONCEFLOW_RETURN_IF_ERROR(conn_->Exec(kCreateProgress, "create onceflow_progress"));
  ONCEFLOW_ASSIGN_OR_RETURN(PgResult added, conn_->Query(kCountAddedColumns, {},
                                                         "read the columns of onceflow_progress"));
  if (ParseInt(PQgetvalue(added.get(), 0, 0)) != kAddedColumnCount) {
    ONCEFLOW_RETURN_IF_ERROR(
        conn_->Exec(kMigrateProgress, "add the new columns to onceflow_progress"));
  }
  return conn_->Exec(kCreateDeadLetters, "create onceflow_dead_letters");
}

Status PostgresSink::EnsureConnected() {
  if (conn_ != nullptr && !conn_->broken()) return Status::Ok();
  conn_.reset();
  writer_->NewConnection();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.reconnect_timeout_ms);
  auto delay = std::chrono::milliseconds(50);
  while (true) {
    Result<std::unique_ptr<PgConn>> c = PgConn::Connect(options_.conninfo, describe_);
    if (c.has_value()) {
      conn_ = std::move(*c);
      return Status::Ok();
    }
    if (std::chrono::steady_clock::now() + delay > deadline) {
      return c.error().WithContext("reconnecting for " +
                                   std::to_string(options_.reconnect_timeout_ms) + " ms");
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(1000));
  }
}

Status PostgresSink::Begin(const std::string& what) {
  if (writer_ == nullptr) return NotOpen();
  writer_->Discard();
  ONCEFLOW_RETURN_IF_ERROR(EnsureConnected());
  Status s = BeginOnce(what);
  if (!s.ok()) conn_.reset();  // whatever state it is in, the next call starts on a new one
  return s;
}

Status PostgresSink::BeginOnce(const std::string& what) {
  Status s = conn_->Exec("BEGIN", what);
  if (s.ok() || !conn_->broken()) return s;
  ONCEFLOW_RETURN_IF_ERROR(EnsureConnected());
  return conn_->Exec("BEGIN", what);
}

Result<std::map<int32_t, TaskProgress>> PostgresSink::ReadProgress(const std::string& pipeline) {
  std::lock_guard lock(mu_);
  if (writer_ == nullptr) return Err(NotOpen());
  ONCEFLOW_RETURN_IF_ERROR(Redact(EnsureConnected(), secrets_));
  Result<PgResult> r = conn_->Query(kReadPipeline, {pipeline.c_str()}, "read the progress rows");
  if (!r.has_value() && conn_->broken()) {  // a restart since the last use: once more
    ONCEFLOW_RETURN_IF_ERROR(Redact(EnsureConnected(), secrets_));
    r = conn_->Query(kReadPipeline, {pipeline.c_str()}, "read the progress rows");
  }
  if (!r.has_value()) return Err(Redact(r.error(), secrets_));
  std::map<int32_t, TaskProgress> progress;
  for (int i = 0; i < PQntuples(r->get()); ++i) {
    const auto task = static_cast<int32_t>(ParseInt(PQgetvalue(r->get(), i, 0)));
    ONCEFLOW_ASSIGN_OR_RETURN(progress[task], ProgressFrom(r->get(), i, 1, pipeline, task));
  }
  return progress;
}

Result<TaskProgress> PostgresSink::ProgressFrom(const PGresult* r, int row, int first,
                                                const std::string& pipeline, int32_t task) const {
  TaskProgress p;
  p.last_batch = BatchId(ParseInt(PQgetvalue(r, row, first)));
  p.epoch = Epoch(ParseInt(PQgetvalue(r, row, first + 1)));
  Result<std::vector<TaskRange>> ranges = DecodeRanges(PQgetvalue(r, row, first + 2));
  if (!ranges.has_value()) {
    return Err(Status::Corruption(describe_ + ": the progress row of " + TaskName(pipeline, task) +
                                  ": " + ranges.error().message()));
  }
  p.ranges = std::move(ranges).value();
  if (!PQgetisnull(r, row, first + 3)) p.source = PQgetvalue(r, row, first + 3);
  Result<TaskStarts> starts =
      StartsFromColumn(PQgetisnull(r, row, first + 4)
                           ? std::nullopt
                           : std::optional<std::string_view>(PQgetvalue(r, row, first + 4)),
                       p.ranges);
  if (!starts.has_value()) {
    return Err(Status::Corruption(describe_ + ": the progress row of " + TaskName(pipeline, task) +
                                  ": " + starts.error().message()));
  }
  p.started = std::move(starts).value();
  if (!PQgetisnull(r, row, first + 5)) {  // NULL: not known (an older row, or no digest)
    const char* digest = PQgetvalue(r, row, first + 5);
    p.digest = DecodeDigest(digest);
    if (!p.digest.has_value()) {
      return Err(Status::Corruption(describe_ + ": the progress row of " +
                                    TaskName(pipeline, task) + ": bad output_digest '" + digest +
                                    "'"));
    }
  }
  return p;
}

Status PostgresSink::CommitTransaction(const std::string& what) {
  PgResult r(PQexec(conn_->handle(), "COMMIT"));
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    // The connection may have died during COMMIT: the batch is in doubt, and the retry reads
    // the progress rows to find out.
    return conn_->Error(r.get(), what);
  }
  if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0) {
    return Status::Aborted(describe_ + ": " + what + ": the server rolled the transaction back");
  }
  return Status::Ok();
}

void PostgresSink::Rollback() {
  if (writer_ != nullptr) writer_->Discard();
  // Nothing better can be done if ROLLBACK fails: the connection is dropped, the server rolls
  // back, and the first error is the one reported.
  if (conn_ != nullptr && !conn_->broken() && !conn_->Exec("ROLLBACK", "roll back").ok()) {
    conn_.reset();
  }
}

Result<std::optional<TaskProgress>> PostgresSink::ReadClaimRow(const std::string& pipeline,
                                                               int32_t task) {
  const std::string task_text = std::to_string(task);
  const std::string what = "claim the progress row of " + TaskName(pipeline, task);
  ONCEFLOW_RETURN_IF_ERROR(conn_->Query(kPlaceholder, {pipeline.c_str(), task_text.c_str()}, what));
  ONCEFLOW_ASSIGN_OR_RETURN(PgResult row,
                            conn_->Query(kLockTask, {pipeline.c_str(), task_text.c_str()}, what));
  if (PQntuples(row.get()) != 1) {
    return Err(Status::Aborted(describe_ + ": " + what + ": the row is gone"));
  }
  return ProgressFrom(row.get(), 0, 0, pipeline, task);
}

Status PostgresSink::WriteClaim(const std::string& pipeline, int32_t task,
                                const TaskProgress& after) {
  const std::string task_text = std::to_string(task);
  const std::string epoch_text = after.epoch.ToString();
  return internal::ToStatus(conn_->Query(kClaimTask,
                                         {pipeline.c_str(), task_text.c_str(), epoch_text.c_str()},
                                         "claim the progress row of " + TaskName(pipeline, task)));
}

Status PostgresSink::ReadProgressRows(std::span<const TaskCommit> tasks,
                                      std::vector<std::optional<TaskProgress>>* stored) {
  // Lock in (pipeline, task) order, so that two commits of overlapping tasks cannot deadlock.
  std::vector<size_t> order(tasks.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(tasks[a].pipeline, tasks[a].task) < std::tie(tasks[b].pipeline, tasks[b].task);
  });
  PGconn* c = conn_->handle();
  if (PQenterPipelineMode(c) != 1) return conn_->Error(nullptr, "enter pipeline mode");
  std::vector<std::string> task_text(tasks.size());
  bool sent = true;
  for (size_t i : order) {
    task_text[i] = std::to_string(tasks[i].task);
    const char* params[] = {tasks[i].pipeline.c_str(), task_text[i].c_str()};
    for (const char* sql : {kPlaceholder, kLockTask}) {
      if (sent && PQsendQueryParams(c, sql, 2, nullptr, params, nullptr, nullptr, 0) != 1) {
        sent = false;
      }
    }
  }
  if (PQpipelineSync(c) != 1) sent = false;
  std::vector<PgResult> results;
  size_t error = SIZE_MAX;
  if (sent && !conn_->ReadPipelineResults(&results, &error)) sent = false;
  PQexitPipelineMode(c);
  if (!sent || error != SIZE_MAX) {
    return conn_->Error(error < results.size() ? results[error].get() : nullptr,
                        "lock the progress rows");
  }
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const PGresult* row = results.at(2 * k + 1).get();
    // A placeholder (epoch 0) is no row; a claimed row with no batch yet still fences.
    if (PQntuples(row) == 1 &&
        (ParseInt(PQgetvalue(row, 0, 0)) >= 0 || ParseInt(PQgetvalue(row, 0, 1)) > 0)) {
      ONCEFLOW_ASSIGN_OR_RETURN((*stored)[i],
                                ProgressFrom(row, 0, 0, tasks[i].pipeline, tasks[i].task));
    }
  }
  return Status::Ok();
}

Status PostgresSink::WriteRows(const TaskCommit& t, std::span<const SinkRow> rows) {
  row_errors_.clear();
  ONCEFLOW_RETURN_IF_ERROR(writer_->Write(conn_.get(), rows, &row_errors_));
  for (const RowError& e : row_errors_) {
    const SinkRow& r = rows[e.index];
    ONCEFLOW_RETURN_IF_ERROR(WriteDeadLetter(t, r.partition, r.offset, r.row.ToJson(), e.message));
  }
  return Status::Ok();
}

Status PostgresSink::WriteDeadLetter(const TaskCommit& t, PartitionId partition, Offset offset,
                                     std::string_view raw, std::string_view error) {
  const std::string batch = t.batch.ToString();
  const std::string part = partition.ToString();
  const std::string off = offset.ToString();
  // The error text comes from the server and may hold bytes that are not UTF-8 (from the row).
  std::string err(error);
  if (!IsValidUtf8(err)) {
    for (char& ch : err) {
      if (static_cast<unsigned char>(ch) >= 0x80) ch = '?';
    }
  }
  err.erase(std::remove(err.begin(), err.end(), '\0'), err.end());
  // A null pointer would be SQL NULL: an empty record is an empty BYTEA.
  const char* values[] = {
      t.pipeline.c_str(), batch.c_str(), part.c_str(), off.c_str(), raw.empty() ? "" : raw.data(),
      err.c_str()};
  const int lengths[] = {0, 0, 0, 0, static_cast<int>(raw.size()), 0};
  const int formats[] = {0, 0, 0, 0, 1, 0};  // raw as bytes, the rest as text
  PgResult r(
      PQexecParams(conn_->handle(), kWriteDeadLetter, 6, nullptr, values, lengths, formats, 0));
  if (r != nullptr && PQresultStatus(r.get()) == PGRES_COMMAND_OK) return Status::Ok();
  return conn_->Error(r.get(), "write a dead letter");
}

Status PostgresSink::WriteProgress(const std::string& pipeline, int32_t task,
                                   const TaskProgress& row, int64_t now_ms) {
  const std::string task_text = std::to_string(task);
  const std::string batch = row.last_batch.ToString();
  const std::string epoch = row.epoch.ToString();
  const std::string ranges = EncodeRanges(row.ranges);
  const std::string now = std::to_string(now_ms);
  const std::string started = EncodeStarts(row.started);
  const std::string digest = row.digest.has_value() ? EncodeDigest(*row.digest) : std::string();
  // A null parameter is SQL NULL: a source not known yet, as in a row from before the column.
  ONCEFLOW_ASSIGN_OR_RETURN(
      PgResult r,
      conn_->Query(kWriteProgress,
                   {pipeline.c_str(), task_text.c_str(), batch.c_str(), epoch.c_str(),
                    ranges.c_str(), now.c_str(), row.source.empty() ? nullptr : row.source.c_str(),
                    started.c_str(), row.digest.has_value() ? digest.c_str() : nullptr},
                   "write the progress row of " + TaskName(pipeline, task)));
  if (std::strcmp(PQcmdTuples(r.get()), "1") != 0) {
    return Status::Aborted(describe_ + ": write the progress row of " + TaskName(pipeline, task) +
                           ": the locked row is gone");
  }
  return Status::Ok();
}

Status PostgresSink::DeleteProgress(const std::string& pipeline) {
  std::lock_guard lock(mu_);
  ONCEFLOW_RETURN_IF_ERROR(Redact(Begin("begin the commit transaction"), secrets_));
  // One statement is one transaction already; BEGIN/COMMIT keep the shape of the other writes
  // (and a commit of the pipeline in flight holds its rows locked until it is done).
  Status s =
      internal::ToStatus(conn_->Query(kDeleteProgress, {pipeline.c_str()},
                                      "delete the progress rows of pipeline '" + pipeline + "'"));
  if (s.ok()) s = conn_->Exec("COMMIT", "commit the deletion of the progress rows");
  if (s.ok()) return s;
  Rollback();
  return Redact(std::move(s), secrets_);
}

}  // namespace

Result<std::unique_ptr<Sink>> MakePostgresSink(PostgresSinkOptions options) {
  if (options.conninfo.empty()) {
    return Err(Status::InvalidArgument("postgres sink: sink.conninfo is required"));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(std::string describe, DescribeConninfo(options.conninfo));
  if (options.reconnect_timeout_ms < 0) {
    return Err(Status::InvalidArgument(describe + ": the reconnect timeout must not be negative"));
  }
  ONCEFLOW_RETURN_IF_ERROR(ValidateModeOptions(describe + ": ", options.mode, options.table,
                                               options.key, options.statements));
  if (options.mode == SinkMode::kAdditive) {
    ONCEFLOW_RETURN_IF_ERROR(ValidateAdditiveOptions(describe + ": ", options.add, options.append));
  }
  return std::make_unique<PostgresSink>(std::move(options), std::move(describe));
}

}  // namespace onceflow::sink
