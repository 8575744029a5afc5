// The PostgreSQL sink's row writers: pipelined prepared statements per row under savepoints,
// and COPY for append.
#include "sink/postgres_row_writer.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "sink/postgres_params.h"
#include "util/check.h"

namespace onceflow::sink {
namespace {

constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat8Oid = 701;

// Rows are pipelined in chunks of at most this many statements: one round trip each, and few
// enough results (~20 bytes each) that the server never blocks writing them while we send.
constexpr size_t kChunkStatements = 1024;
// COPY data goes to libpq in pieces of about this size.
constexpr size_t kCopyPiece = 1 << 20;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string PrimaryMessage(const PGresult* r) {
  const char* m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  return m != nullptr ? m : "error";
}

std::string_view SqlState(const PGresult* r) {
  const char* s = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return s != nullptr ? s : "";
}

// One statement run per row, with the row fields its parameters take.
struct PgStatement {
  std::string sql;                      // with $1, $2, ...
  std::string label;                    // "statement 2 (UPDATE ...)", "insert into orders"
  std::vector<std::string> fields;      // $i+1 binds the row's field fields[i]
  std::vector<std::string> parameters;  // as written (":amount"), for errors
  std::vector<bool> required;           // a row without the field is a row error (else NULL)
  bool key_columns = false;             // the required fields are key columns (error wording)
  bool typed = false;                   // integers as bigint, doubles as double precision
  // For the current connection: prepared statement by parameter-type signature, and the
  // errors of signatures that could not be prepared (their rows are row errors).
  std::map<std::string, std::string> prepared;
  std::map<std::string, std::string> failed;
};

// Runs statements for rows in pipelined chunks; the engine of both writers.
class PipelinedRows {
 public:
  PipelinedRows(std::vector<PgStatement> statements, std::string name_prefix)
      : statements_(std::move(statements)), prefix_(std::move(name_prefix)) {
    chunk_rows_ = std::max<size_t>(1, kChunkStatements / statements_.size());
  }

  void NewConnection() {
    for (PgStatement& s : statements_) {
      s.prepared.clear();
      s.failed.clear();
    }
  }

  Status Write(PgConn* conn, std::span<const SinkRow> rows, std::vector<RowError>* errors) {
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
        ONCEFLOW_RETURN_IF_ERROR(RunChunk(conn, rows, start, skip, end, &failed));
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

  const std::vector<PgStatement>& statements() const { return statements_; }

 private:
  // The signature of `row` for `s` ('i' bigint, 'd' double, 'u' untyped per parameter), or a
  // row error in `*error` (a required field is missing).
  std::string Signature(const PgStatement& s, const Row& row, std::string* error) const {
    std::string sig(s.fields.size(), 'u');
    for (size_t i = 0; i < s.fields.size(); ++i) {
      const Value* v = row.Get(s.fields[i]);
      if (v == nullptr) {
        if (!s.required[i]) continue;
        *error = s.key_columns ? s.label + ": the row has no field '" + s.fields[i] +
                                     "' for the key column"
                               : s.label + ": the row has no field '" + s.fields[i] +
                                     "' for parameter " + s.parameters[i];
        return sig;
      }
      if (s.typed && v->index() == 2) sig[i] = 'i';
      if (s.typed && v->index() == 3) sig[i] = 'd';
    }
    return sig;
  }

  // The name of `s` prepared for `row`'s parameter types, preparing it if needed; a row error
  // (missing field, types the statement cannot take) goes to `*error`.
  Result<std::string> Prepared(PgConn* conn, PgStatement& s, const Row& row, std::string* error) {
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
    PgResult r(PQprepare(conn->handle(), name.c_str(), s.sql.c_str(),
                         static_cast<int>(types.size()), types.data()));
    if (r != nullptr && PQresultStatus(r.get()) == PGRES_COMMAND_OK) {
      ONCEFLOW_RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT onceflow_prepare", "release savepoint"));
      s.prepared[sig] = name;
      return name;
    }
    if (conn->broken() || !IsRowErrorState(SqlState(r.get()))) {
      return Err(conn->Error(r.get(), s.label));
    }
    ONCEFLOW_RETURN_IF_ERROR(conn->Exec(
        "ROLLBACK TO SAVEPOINT onceflow_prepare; RELEASE SAVEPOINT onceflow_prepare",
        "roll back to savepoint"));
    *error = s.label + ": " + PrimaryMessage(r.get());
    s.failed[sig] = *error;
    return std::string();
  }

  // Runs rows [start, end) but the skipped ones, in one pipeline under a savepoint. A row that
  // fails is reported in `*failed` with the chunk rolled back; otherwise every row ran.
  Status RunChunk(PgConn* conn, std::span<const SinkRow> rows, size_t start,
                  const std::vector<char>& skip, size_t end, std::optional<RowError>* failed) {
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
    bool ok = send_plain("SAVEPOINT onceflow_rows");
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
          starts_.push_back(v != nullptr && AppendValueText(*v, &values_, &error) ? begin
                                                                                  : SIZE_MAX);
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
        if (PQsendQueryPrepared(c, name.c_str(), static_cast<int>(pointers_.size()),
                                pointers_.data(), nullptr, nullptr, 0) != 1) {
          send_error = conn->Error(nullptr, s.label);
          ok = false;
          break;
        }
        sent.push_back({r, static_cast<int>(k)});
      }
    }
    if (ok) ok = send_plain("RELEASE SAVEPOINT onceflow_rows");
    if (PQpipelineSync(c) != 1 && send_error.ok() && !failed->has_value()) {
      send_error = conn->Error(nullptr, "pipeline sync");
    }
    // Read every result up to the sync; remember the first error.
    PgResult first_error;
    size_t error_query = 0;
    size_t query = 0;
    int nulls = 0;
    bool lost = false;
    while (true) {
      PGresult* raw = PQgetResult(c);
      if (raw == nullptr) {
        if (conn->broken() || ++nulls > 1) {
          lost = true;
          break;
        }
        continue;
      }
      nulls = 0;
      PgResult res(raw);
      const ExecStatusType st = PQresultStatus(raw);
      if (st == PGRES_PIPELINE_SYNC) break;
      if (st == PGRES_FATAL_ERROR && first_error == nullptr) {
        first_error = std::move(res);
        error_query = query;
      }
      ++query;
    }
    PQexitPipelineMode(c);
    if (lost) return conn->Error(first_error.get(), "write rows");
    if (!send_error.ok()) return send_error;
    if (first_error == nullptr) {
      // A value that could not be sent stopped the chunk: nothing of it stays.
      if (failed->has_value()) {
        return conn->Exec("ROLLBACK TO SAVEPOINT onceflow_rows; RELEASE SAVEPOINT onceflow_rows",
                          "roll back to savepoint");
      }
      return Status::Ok();
    }
    if (failed->has_value()) failed->reset();  // the server's error came first
    const Sent& at = sent.at(error_query);
    const std::string_view state = SqlState(first_error.get());
    if (at.statement < 0 || !IsRowErrorState(state)) {
      const std::string what =
          at.statement < 0 ? "savepoint" : statements_[at.statement].label;
      return conn->Error(first_error.get(), what);
    }
    ONCEFLOW_RETURN_IF_ERROR(conn->Exec(
        "ROLLBACK TO SAVEPOINT onceflow_rows; RELEASE SAVEPOINT onceflow_rows",
        "roll back to savepoint"));
    failed->emplace(
        RowError{at.row, statements_[at.statement].label + ": " + PrimaryMessage(first_error.get())});
    return Status::Ok();
  }

  std::vector<PgStatement> statements_;
  const std::string prefix_;
  size_t chunk_rows_ = 1;
  uint64_t counter_ = 0;
  // Scratch for binding one statement: the values, NUL-terminated, and where each starts.
  std::string values_;
  std::vector<size_t> starts_;  // SIZE_MAX: NULL
  std::vector<const char*> pointers_;
};

// COPY's text format: \N is NULL; backslash, newline, carriage return and tab are escaped.
void AppendCopyEscaped(std::string_view text, std::string* out) {
  if (text.find_first_of("\\\n\r\t") == std::string_view::npos) {
    out->append(text);
    return;
  }
  for (char c : text) {
    switch (c) {
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default: *out += c;
    }
  }
}

class TableWriter final : public PgRowWriter {
 public:
  TableWriter(std::vector<std::string> columns, std::string copy_sql, std::string label,
              PipelinedRows rows)
      : columns_(std::move(columns)),
        copy_sql_(std::move(copy_sql)),
        label_(std::move(label)),
        rows_(std::move(rows)) {}

  Status Write(PgConn* conn, std::span<const SinkRow> rows,
               std::vector<RowError>* errors) override {
    if (rows.empty()) return Status::Ok();
    if (!copy_sql_.empty()) {
      const size_t before = errors->size();
      bool row_failed = false;
      ONCEFLOW_RETURN_IF_ERROR(Copy(conn, rows, errors, &row_failed));
      if (!row_failed) return Status::Ok();
      // Some row broke the COPY: nothing of it stayed; find the bad rows one statement each.
      errors->resize(before);
    }
    return rows_.Write(conn, rows, errors);
  }

  void NewConnection() override { rows_.NewConnection(); }

 private:
  Status Copy(PgConn* conn, std::span<const SinkRow> rows, std::vector<RowError>* errors,
              bool* row_failed) {
    PGconn* c = conn->handle();
    ONCEFLOW_RETURN_IF_ERROR(conn->Exec("SAVEPOINT onceflow_copy", "savepoint"));
    {
      PgResult start(PQexec(c, copy_sql_.c_str()));
      if (start == nullptr || PQresultStatus(start.get()) != PGRES_COPY_IN) {
        return conn->Error(start.get(), label_);
      }
    }
    buffer_.clear();
    std::string error;
    for (size_t r = 0; r < rows.size(); ++r) {
      const Row& row = rows[r].row;
      const std::span<const Row::Field> fields = row.fields();
      const size_t line_start = buffer_.size();
      for (size_t i = 0; i < columns_.size(); ++i) {
        if (i > 0) buffer_ += '\t';
        const Value* v = i < fields.size() && fields[i].first == columns_[i]
                             ? &fields[i].second
                             : row.Get(columns_[i]);
        scratch_.clear();
        if (v == nullptr || !AppendValueText(*v, &scratch_, &error)) {
          if (!error.empty()) break;
          buffer_ += "\\N";
        } else {
          AppendCopyEscaped(scratch_, &buffer_);
        }
      }
      if (!error.empty()) {
        buffer_.resize(line_start);
        errors->push_back({r, label_ + ": " + std::exchange(error, {})});
        continue;
      }
      buffer_ += '\n';
      if (buffer_.size() >= kCopyPiece) {
        if (PQputCopyData(c, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
          return conn->Error(nullptr, label_);
        }
        buffer_.clear();
      }
    }
    if (!buffer_.empty() &&
        PQputCopyData(c, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
      return conn->Error(nullptr, label_);
    }
    if (PQputCopyEnd(c, nullptr) != 1) return conn->Error(nullptr, label_);
    PgResult end(PQgetResult(c));
    while (PgResult more{PQgetResult(c)}) {
    }
    if (end != nullptr && PQresultStatus(end.get()) == PGRES_COMMAND_OK) {
      return conn->Exec("RELEASE SAVEPOINT onceflow_copy", "release savepoint");
    }
    if (conn->broken() || !IsRowErrorState(SqlState(end.get()))) {
      return conn->Error(end.get(), label_);
    }
    *row_failed = true;
    return conn->Exec("ROLLBACK TO SAVEPOINT onceflow_copy; RELEASE SAVEPOINT onceflow_copy",
                      "roll back to savepoint");
  }

  const std::vector<std::string> columns_;
  const std::string copy_sql_;  // "": upsert, no COPY
  const std::string label_;
  PipelinedRows rows_;
  std::string buffer_;
  std::string scratch_;
};

class StatementsWriter final : public PgRowWriter {
 public:
  explicit StatementsWriter(PipelinedRows rows) : rows_(std::move(rows)) {}
  Status Write(PgConn* conn, std::span<const SinkRow> rows,
               std::vector<RowError>* errors) override {
    return rows_.Write(conn, rows, errors);
  }
  void NewConnection() override { rows_.NewConnection(); }

 private:
  PipelinedRows rows_;
};

// Checks that `sql` prepares and plans (EXPLAIN: some errors, such as an ON CONFLICT without a
// matching unique constraint, only come from the planner), with every parameter untyped and
// NULL. Types that only rows can tell (`-:amount` needs a number) are not an error here, nor is
// a statement that EXPLAIN does not take.
Status CheckPrepares(PgConn* conn, const std::string& sql, size_t params, const std::string& label,
                     bool allow_type_errors) {
  static constexpr std::string_view kTypeStates[] = {"42725", "42883", "42804", "42P18",
                                                     "42P08", "42846"};
  auto type_error = [&](std::string_view state) {
    return allow_type_errors && std::find(std::begin(kTypeStates), std::end(kTypeStates),
                                          state) != std::end(kTypeStates);
  };
  PgResult r(PQprepare(conn->handle(), "", sql.c_str(), static_cast<int>(params), nullptr));
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    if (type_error(SqlState(r.get()))) return Status::Ok();
    return conn->Error(r.get(), label, /*config=*/true);
  }
  const std::vector<const char*> nulls(params, nullptr);
  PgResult e(PQexecParams(conn->handle(), ("EXPLAIN " + sql).c_str(), static_cast<int>(params),
                          nullptr, nulls.data(), nullptr, nullptr, 0));
  if (e != nullptr && PQresultStatus(e.get()) == PGRES_TUPLES_OK) return Status::Ok();
  const std::string_view state = SqlState(e.get());
  if (state == "42601" || type_error(state)) return Status::Ok();  // not explainable; types
  return conn->Error(e.get(), label, /*config=*/true);
}

}  // namespace

Result<std::unique_ptr<PgRowWriter>> MakePgTableWriter(PgConn* conn, const std::string& table,
                                                       std::span<const std::string> key) {
  // They are spliced into SQL text unquoted: anything else is an injection, not a table name.
  ONCEFLOW_CHECK(IsSafeIdentifier(table)) << "table '" << table << "'";
  for (const std::string& k : key) ONCEFLOW_CHECK(IsSafeIdentifier(k)) << "key '" << k << "'";
  // Unquoted names fold to lower case in PostgreSQL: `orders`, `Orders` and `ORDERS` are one.
  const std::string name = Lower(table);
  const std::string where = "sink.table '" + table + "'";
  ONCEFLOW_ASSIGN_OR_RETURN(PgResult cols,
                   conn->Query("SELECT a.attname FROM pg_attribute a WHERE a.attrelid = "
                               "to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND "
                               "a.attgenerated = '' AND a.attidentity <> 'a' ORDER BY a.attnum",
                               {name.c_str()}, "read the columns of " + where));
  std::vector<std::string> columns;
  for (int i = 0; i < PQntuples(cols.get()); ++i) columns.emplace_back(PQgetvalue(cols.get(), i, 0));
  if (columns.empty()) {
    return Err(Status::InvalidArgument(conn->describe() + ": " + where +
                                       " does not exist (create it with sink.init)"));
  }
  std::vector<bool> is_key(columns.size(), false);
  std::vector<std::string> keys;
  for (const std::string& k : key) {
    const std::string lk = Lower(k);
    auto it = std::find(columns.begin(), columns.end(), lk);
    if (it == columns.end()) {
      return Err(Status::InvalidArgument(conn->describe() + ": " + where + " has no column '" +
                                         k + "' (named in sink.key)"));
    }
    is_key[it - columns.begin()] = true;
    keys.push_back(lk);
  }
  std::string list;
  std::string values;
  for (size_t i = 0; i < columns.size(); ++i) {
    list += (i > 0 ? "," : "") + QuoteIdentifier(columns[i]);
    values += (i > 0 ? ",$" : "$") + std::to_string(i + 1);
  }
  const std::string qtable = QuoteIdentifier(name);
  std::string sql = "INSERT INTO " + qtable + "(" + list + ") VALUES(" + values + ")";
  if (!keys.empty()) {
    sql += " ON CONFLICT(";
    for (size_t i = 0; i < keys.size(); ++i) sql += (i > 0 ? "," : "") + QuoteIdentifier(keys[i]);
    std::string updates;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (is_key[i]) continue;
      const std::string c = QuoteIdentifier(columns[i]);
      updates += (updates.empty() ? "" : ",") + c + "=EXCLUDED." + c;
    }
    sql += updates.empty() ? ") DO NOTHING" : ") DO UPDATE SET " + updates;
  }
  const std::string label = (keys.empty() ? "insert into " : "upsert into ") + table;
  ONCEFLOW_RETURN_IF_ERROR(CheckPrepares(conn, sql, columns.size(), label, /*allow_type_errors=*/false));
  PgStatement s;
  s.sql = std::move(sql);
  s.label = label;
  s.fields = columns;
  s.parameters = columns;
  s.required = is_key;
  s.key_columns = true;
  std::string copy_sql;
  if (keys.empty()) copy_sql = "COPY " + qtable + "(" + list + ") FROM STDIN";
  std::vector<PgStatement> statements;
  statements.push_back(std::move(s));
  return std::make_unique<TableWriter>(std::move(columns), std::move(copy_sql), label,
                                       PipelinedRows(std::move(statements), "onceflow_table_"));
}

Result<std::unique_ptr<PgRowWriter>> MakePgStatementsWriter(
    PgConn* conn, std::span<const std::string> statements) {
  std::vector<PgStatement> prepared;
  for (size_t i = 0; i < statements.size(); ++i) {
    const std::string& sql = statements[i];
    std::string shown = sql.size() > 200 ? sql.substr(0, 200) + "..." : sql;
    PgStatement s;
    s.label = "statement " + std::to_string(i + 1) + " (" + shown + ")";
    Result<NamedSql> named = TranslateNamedParameters(sql);
    if (!named.has_value()) {
      return Err(Status::InvalidArgument(conn->describe() + ": " + s.label + ": " +
                                         named.error().message()));
    }
    s.sql = std::move(named->sql);
    s.fields = std::move(named->fields);
    for (const std::string& f : s.fields) s.parameters.push_back(":" + f);
    s.required.assign(s.fields.size(), true);
    s.typed = true;
    ONCEFLOW_RETURN_IF_ERROR(CheckPrepares(conn, s.sql, s.fields.size(), s.label,
                                  /*allow_type_errors=*/true));
    prepared.push_back(std::move(s));
  }
  return std::make_unique<StatementsWriter>(
      PipelinedRows(std::move(prepared), "onceflow_statement_"));
}

}  // namespace onceflow::sink
