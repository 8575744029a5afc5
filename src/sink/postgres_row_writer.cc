// The PostgreSQL sink's row writers: COPY for append, falling back to the pipelined rows
// (postgres_pipelined_rows.h) when a row breaks it; upsert and statements through them.
#include "sink/postgres_row_writer.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "sink/postgres_params.h"
#include "sink/postgres_pipelined_rows.h"
#include "util/check.h"

namespace onceflow::sink {
namespace {

// COPY data goes to libpq in pieces of about this size.
constexpr size_t kCopyPiece = 1 << 20;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

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
  TableWriter(std::vector<std::string> fields, std::string copy_sql, std::string label,
              PipelinedRows rows)
      : fields_(std::move(fields)),
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
      for (size_t i = 0; i < fields_.size(); ++i) {
        if (i > 0) buffer_ += '\t';
        const Value* v = i < fields.size() && fields[i].first == fields_[i] ? &fields[i].second
                                                                            : row.Get(fields_[i]);
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

  const std::vector<std::string> fields_;  // column i takes the row's field fields_[i]
  const std::string copy_sql_;             // "": upsert, no COPY
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
  static constexpr std::string_view kTypeStates[] = {"42725", "42883", "42804",
                                                     "42P18", "42P08", "42846"};
  auto type_error = [&](std::string_view state) {
    return allow_type_errors && std::find(std::begin(kTypeStates), std::end(kTypeStates), state) !=
                                    std::end(kTypeStates);
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
                                                       std::span<const std::string> key,
                                                       std::span<const ColumnField> mapped) {
  // They are spliced into SQL text unquoted: anything else is an injection, not a table name.
  ONCEFLOW_CHECK(IsSafeIdentifier(table)) << "table '" << table << "'";
  for (const std::string& k : key) ONCEFLOW_CHECK(IsSafeIdentifier(k)) << "key '" << k << "'";
  // Unquoted names fold to lower case in PostgreSQL: `orders`, `Orders` and `ORDERS` are one.
  const std::string name = Lower(table);
  const std::string where = (mapped.empty() ? "sink.table '" : "sink.append.table '") + table + "'";
  ONCEFLOW_ASSIGN_OR_RETURN(
      PgResult cols, conn->Query("SELECT a.attname FROM pg_attribute a WHERE a.attrelid = "
                                 "to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND "
                                 "a.attgenerated = '' AND a.attidentity <> 'a' ORDER BY a.attnum",
                                 {name.c_str()}, "read the columns of " + where));
  std::vector<std::string> columns;
  for (int i = 0; i < PQntuples(cols.get()); ++i)
    columns.emplace_back(PQgetvalue(cols.get(), i, 0));
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
      return Err(Status::InvalidArgument(conn->describe() + ": " + where + " has no column '" + k +
                                         "' (named in sink.key)"));
    }
    is_key[it - columns.begin()] = true;
    keys.push_back(lk);
  }
  std::vector<std::string> fields = columns;
  if (!mapped.empty()) {
    ONCEFLOW_CHECK(key.empty()) << "mapped columns in upsert mode";
    std::vector<std::string> chosen;
    fields.clear();
    for (const ColumnField& m : mapped) {
      ONCEFLOW_CHECK(IsSafeIdentifier(m.column)) << "column '" << m.column << "'";
      const std::string lc = Lower(m.column);
      if (std::find(columns.begin(), columns.end(), lc) == columns.end()) {
        return Err(Status::InvalidArgument(conn->describe() + ": " + where + " has no column '" +
                                           m.column + "' (named in sink.append.columns)"));
      }
      chosen.push_back(lc);
      fields.push_back(m.field);
    }
    columns = std::move(chosen);
    is_key.assign(columns.size(), false);
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
  ONCEFLOW_RETURN_IF_ERROR(
      CheckPrepares(conn, sql, columns.size(), label, /*allow_type_errors=*/false));
  PgStatement s;
  s.sql = std::move(sql);
  s.label = label;
  s.fields = fields;
  s.parameters = columns;
  s.required = is_key;
  s.key_columns = true;
  std::string copy_sql;
  if (keys.empty()) copy_sql = "COPY " + qtable + "(" + list + ") FROM STDIN";
  std::vector<PgStatement> statements;
  statements.push_back(std::move(s));
  return std::make_unique<TableWriter>(std::move(fields), std::move(copy_sql), label,
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
