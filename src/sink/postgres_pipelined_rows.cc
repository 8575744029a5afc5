// PipelinedRows: prepared statements per row in libpq pipeline mode: all rows under one savepoint,
// and when a row fails, chunks under savepoints of their own that find it.
#include "sink/postgres_pipelined_rows.h"

#include <algorithm>
#include <utility>

namespace onceflow::sink {
namespace {

constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat8Oid = 701;

// Rows are pipelined in chunks of at most this many statements: one round trip each, and few
// enough results (~20 bytes each) that the server never blocks writing them while we send.
constexpr size_t kChunkStatements = 1024;

}  // namespace

PipelinedRows::PipelinedRows(std::vector<PgStatement> statements, std::string name_prefix)
    : statements_(std::move(statements)), prefix_(std::move(name_prefix)) {
  chunk_rows_ = std::max<size_t>(1, kChunkStatements / statements_.size());
}

void PipelinedRows::NewConnection() {
  for (PgStatement& s : statements_) {
    s.prepared.clear();
    s.failed.clear();
  }
}

Status PipelinedRows::Write(PgConn* conn, std::span<const SinkRow> rows,
                            std::vector<RowError>* errors) {
  if (rows.empty()) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(const bool clean, WriteClean(conn, rows));
  if (clean) return Status::Ok();
  return WriteChecked(conn, rows, errors);
}

Result<bool> PipelinedRows::WriteClean(PgConn* conn, std::span<const SinkRow> rows) {
  // Every statement must prepare for every row; a row that cannot is the checked path's.
  std::string error;
  for (const SinkRow& r : rows) {
    for (PgStatement& s : statements_) {
      ONCEFLOW_ASSIGN_OR_RETURN(std::string name, Prepared(conn, s, r.row, &error));
      if (!error.empty()) return false;
    }
  }
  const std::vector<char> skip(chunk_rows_, 0);
  for (size_t start = 0; start < rows.size(); start += chunk_rows_) {
    const size_t end = std::min(rows.size(), start + chunk_rows_);
    Frame frame;
    frame.begin = start == 0 ? "SAVEPOINT onceflow_batch" : nullptr;
    frame.end = end == rows.size() ? "RELEASE SAVEPOINT onceflow_batch" : nullptr;
    frame.rollback = "ROLLBACK TO SAVEPOINT onceflow_batch; RELEASE SAVEPOINT onceflow_batch";
    std::optional<RowError> failed;
    ONCEFLOW_RETURN_IF_ERROR(RunChunk(conn, rows, start, skip, end, frame, &failed));
    if (failed.has_value()) return false;  // rolled back to the batch's savepoint
  }
  return true;
}

Status PipelinedRows::WriteChecked(PgConn* conn, std::span<const SinkRow> rows,
                                   std::vector<RowError>* errors) {
  const Frame frame{"SAVEPOINT onceflow_rows", "RELEASE SAVEPOINT onceflow_rows",
                    "ROLLBACK TO SAVEPOINT onceflow_rows; RELEASE SAVEPOINT onceflow_rows"};
  for (size_t start = 0; start < rows.size(); start += chunk_rows_) {
    const size_t end = std::min(rows.size(), start + chunk_rows_);
    std::vector<RowError> chunk_errors;
    std::vector<char> skip(end - start, 0);
    std::string error;
    for (size_t r = start; r < end; ++r) {
      for (PgStatement& s : statements_) {
        ONCEFLOW_ASSIGN_OR_RETURN(std::string name, Prepared(conn, s, rows[r].row, &error));
        if (!error.empty()) break;
      }
      if (!error.empty()) {
        skip[r - start] = 1;
        chunk_errors.push_back({r, std::exchange(error, {})});
      }
    }
    // Each failed run drops the row that failed, so this ends.
    while (true) {
      std::optional<RowError> failed;
      ONCEFLOW_RETURN_IF_ERROR(RunChunk(conn, rows, start, skip, end, frame, &failed));
      if (!failed.has_value()) break;
      skip[failed->index - start] = 1;
      chunk_errors.push_back(std::move(*failed));
    }
    std::sort(chunk_errors.begin(), chunk_errors.end(),
              [](const RowError& a, const RowError& b) { return a.index < b.index; });
    for (RowError& e : chunk_errors) errors->push_back(std::move(e));
  }
  return Status::Ok();
}

std::string PipelinedRows::Signature(const PgStatement& s, const Row& row,
                                     std::string* error) const {
  std::string sig(s.fields.size(), 'u');
  for (size_t i = 0; i < s.fields.size(); ++i) {
    const Value* v = row.Get(s.fields[i]);
    if (v == nullptr) {
      if (!s.required[i]) continue;
      *error = s.key_columns
                   ? s.label + ": the row has no field '" + s.fields[i] + "' for the key column"
                   : s.label + ": the row has no field '" + s.fields[i] + "' for parameter " +
                         s.parameters[i];
      return sig;
    }
    if (s.typed && v->index() == 2) sig[i] = 'i';
    if (s.typed && v->index() == 3) sig[i] = 'd';
  }
  return sig;
}

Result<std::string> PipelinedRows::Prepared(PgConn* conn, PgStatement& s, const Row& row,
                                            std::string* error) {
  const std::string sig = Signature(s, row, error);
  if (!error->empty()) return std::string();
  if (auto it = s.prepared.find(sig); it != s.prepared.end()) return it->second;
  if (auto it = s.failed.find(sig); it != s.failed.end()) {
    *error = it->second;
    return std::string();
  }
  std::vector<Oid> types(sig.size(), 0);
  for (size_t i = 0; i < sig.size(); ++i) {
    if (sig[i] == 'i') types[i] = kInt8Oid;
    if (sig[i] == 'd') types[i] = kFloat8Oid;
  }
  const std::string name = prefix_ + std::to_string(counter_++);
  // A failed prepare aborts the transaction: it runs under a savepoint of its own.
  ONCEFLOW_RETURN_IF_ERROR(conn->Exec("SAVEPOINT onceflow_prepare", "savepoint"));
  PgResult r(PQprepare(conn->handle(), name.c_str(), s.sql.c_str(), static_cast<int>(types.size()),
                       types.data()));
  if (r != nullptr && PQresultStatus(r.get()) == PGRES_COMMAND_OK) {
    ONCEFLOW_RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT onceflow_prepare", "release savepoint"));
    s.prepared[sig] = name;
    return name;
  }
  if (conn->broken() || !IsRowErrorState(SqlState(r.get()))) {
    return Err(conn->Error(r.get(), s.label));
  }
  ONCEFLOW_RETURN_IF_ERROR(
      conn->Exec("ROLLBACK TO SAVEPOINT onceflow_prepare; RELEASE SAVEPOINT onceflow_prepare",
                 "roll back to savepoint"));
  *error = s.label + ": " + PrimaryMessage(r.get());
  s.failed[sig] = *error;
  return std::string();
}

Status PipelinedRows::RunChunk(PgConn* conn, std::span<const SinkRow> rows, size_t start,
                               const std::vector<char>& skip, size_t end, const Frame& frame,
                               std::optional<RowError>* failed) {
  PGconn* c = conn->handle();
  if (PQenterPipelineMode(c) != 1) return conn->Error(nullptr, "enter pipeline mode");
  // What each query of the pipeline was: a row's statement, or -1 for the savepoints.
  struct Sent {
    size_t row;
    int statement;
  };
  std::vector<Sent> sent;
  Status send_error;
  auto send_plain = [&](const char* sql) {
    if (PQsendQueryParams(c, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
      send_error = conn->Error(nullptr, sql);
      return false;
    }
    sent.push_back({0, -1});
    return true;
  };
  bool ok = frame.begin == nullptr || send_plain(frame.begin);
  std::string error;
  for (size_t r = start; ok && r < end; ++r) {
    if (skip[r - start]) continue;
    for (size_t k = 0; ok && k < statements_.size(); ++k) {
      PgStatement& s = statements_[k];
      const std::string sig = Signature(s, rows[r].row, &error);
      const std::string& name = s.prepared.at(sig);
      values_.clear();
      starts_.clear();
      for (const std::string& field : s.fields) {
        const Value* v = rows[r].row.Get(field);
        const size_t begin = values_.size();
        starts_.push_back(v != nullptr && AppendValueText(*v, &values_, &error) ? begin : SIZE_MAX);
        values_ += '\0';
      }
      if (!error.empty()) {
        // A value that cannot be sent (a NUL byte): the whole row is a row error.
        ok = false;
        failed->emplace(RowError{r, s.label + ": " + error});
        break;
      }
      pointers_.clear();
      for (size_t begin : starts_) {
        pointers_.push_back(begin == SIZE_MAX ? nullptr : values_.data() + begin);
      }
      if (PQsendQueryPrepared(c, name.c_str(), static_cast<int>(pointers_.size()), pointers_.data(),
                              nullptr, nullptr, 0) != 1) {
        send_error = conn->Error(nullptr, s.label);
        ok = false;
        break;
      }
      sent.push_back({r, static_cast<int>(k)});
    }
  }
  if (ok && frame.end != nullptr) ok = send_plain(frame.end);
  if (PQpipelineSync(c) != 1 && send_error.ok() && !failed->has_value()) {
    send_error = conn->Error(nullptr, "pipeline sync");
  }
  // Read every result up to the sync; remember the first error.
  std::vector<PgResult> results;
  size_t error_query = SIZE_MAX;
  const bool lost = !conn->ReadPipelineResults(&results, &error_query);
  const PGresult* first_error = error_query < results.size() ? results[error_query].get() : nullptr;
  PQexitPipelineMode(c);
  if (lost) return conn->Error(first_error, "write rows");
  if (!send_error.ok()) return send_error;
  if (first_error == nullptr) {
    // A value that could not be sent stopped the chunk: nothing of it stays.
    if (failed->has_value()) {
      return conn->Exec(frame.rollback, "roll back to savepoint");
    }
    return Status::Ok();
  }
  if (failed->has_value()) failed->reset();  // the server's error came first
  const Sent& at = sent.at(error_query);
  const std::string_view state = SqlState(first_error);
  if (at.statement < 0 || !IsRowErrorState(state)) {
    const std::string what = at.statement < 0 ? "savepoint" : statements_[at.statement].label;
    return conn->Error(first_error, what);
  }
  ONCEFLOW_RETURN_IF_ERROR(conn->Exec(frame.rollback, "roll back to savepoint"));
  failed->emplace(
      RowError{at.row, statements_[at.statement].label + ": " + PrimaryMessage(first_error)});
  return Status::Ok();
}

}  // namespace onceflow::sink
