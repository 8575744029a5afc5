// The SQLite sink's row writers: append/upsert into a table, and per-row statements.
#include "sink/sqlite_row_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>
#include <vector>

#include "util/check.h"

namespace onceflow::sink {
namespace {

// Sorts the failure `rc` of writing a row: the row's own fault becomes `*row_error` (prefixed by
// `label`, which names the statement) and Ok is returned; anything else is returned as a
// Status for the caller to roll back on. Resets `stmt`.
// REQUIRES: `stmt` has not been reset since the failure (its error message is still current).
Status RowFailure(SqliteDb* db, sqlite3_stmt* stmt, int rc, const std::string& label,
                  std::string* row_error) {
  Status fatal;
  if (db->IsRowError(rc)) {
    *row_error = label + ": " + std::string(db->Message());
  } else {
    fatal = db->Error(rc, label);
  }
  sqlite3_reset(stmt);
  return fatal;
}

// Steps `stmt` to completion. Returns SQLITE_DONE or the failing result code (not reset).
int StepAll(sqlite3_stmt* stmt) {
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  return rc;
}

// Append and upsert: one INSERT statement whose parameters are the table's columns, in order.
class TableWriter final : public RowWriter {
 public:
  TableWriter(SqliteDb* db, std::string label, std::vector<std::string> columns,
              std::vector<std::string> fields, std::vector<bool> is_key, Statement insert)
      : db_(db),
        label_(std::move(label)),
        columns_(std::move(columns)),
        fields_(std::move(fields)),
        is_key_(std::move(is_key)),
        insert_(std::move(insert)) {}

  Status Write(std::span<const SinkRow> rows, std::vector<RowError>* errors) override {
    std::string error;
    const size_t errors_before = errors->size();
    const std::vector<size_t>& order = Order(rows);
    for (size_t k = 0; k < order.size(); ++k) {
      if (k + kPrefetch < order.size()) Prefetch(rows[order[k + kPrefetch]].row);
      const size_t i = order[k];
      ONCEFLOW_RETURN_IF_ERROR(WriteRow(rows[i].row, &error));
      if (!error.empty()) errors->push_back({i, std::exchange(error, {})});
    }
    std::sort(errors->begin() + static_cast<std::ptrdiff_t>(errors_before), errors->end(),
              [](const RowError& a, const RowError& b) { return a.index < b.index; });
    return Status::Ok();
  }

  void ClearBindings() override { sqlite3_clear_bindings(insert_.get()); }

 private:
  SqliteDb* const db_;
  const std::string label_;                 // "insert into orders": names the statement in errors
  const std::vector<std::string> columns_;  // parameter i+1 is column i
  const std::vector<std::string> fields_;   // column i takes the row's field fields_[i]
  const std::vector<bool> is_key_;          // upsert: which columns the row must carry
  Statement insert_;
  std::vector<size_t> order_;                              // scratch of Order()
  std::vector<std::pair<std::string, size_t>> sort_keys_;  // scratch of Order()

  // The order to write `rows` in. Append: as given. Upsert: by key (stable: of two rows with
  // one key, the later still wins), so that the table's key index and — after the first batch
  // — its rows are visited in order rather than at random: a large upsert touches each page
  // once instead of once per row. The keys are sorted as compact byte strings (SortKey), not
  // through the rows, whose scattered memory would make the sort cost more than it saves.
  const std::vector<size_t>& Order(std::span<const SinkRow> rows) {
    order_.resize(rows.size());
    std::iota(order_.begin(), order_.end(), size_t{0});
    if (rows.size() < 2 || std::find(is_key_.begin(), is_key_.end(), true) == is_key_.end()) {
      return order_;
    }
    sort_keys_.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i + kPrefetch < rows.size()) Prefetch(rows[i + kPrefetch].row);
      std::string& k = sort_keys_[i].first;
      k.clear();
      for (size_t c = 0; c < columns_.size(); ++c) {
        if (is_key_[c]) AppendSortKey(ColumnValue(rows[i].row, c), &k);
      }
      sort_keys_[i].second = i;
    }
    std::sort(sort_keys_.begin(), sort_keys_.end());  // ties by index: stable
    for (size_t i = 0; i < rows.size(); ++i) order_[i] = sort_keys_[i].second;
    return order_;
  }

  // Appends an order-preserving encoding of a key value: a type byte (a missing value first),
  // then integers and floats as 8 big-endian bytes that compare as the numbers do (NaN after
  // every float), text and blobs with 0x00 escaped as 0x00 0x01 and ended by 0x00 0x00.
  static void AppendSortKey(const Value* v, std::string* out) {
    auto put64 = [&](uint64_t x) {
      for (int s = 56; s >= 0; s -= 8) out->push_back(static_cast<char>((x >> s) & 0xff));
    };
    if (v == nullptr) {
      out->push_back(0);
      return;
    }
    out->push_back(static_cast<char>(1 + v->index()));
    if (const auto* b = std::get_if<bool>(v)) {
      out->push_back(*b ? 1 : 0);
    } else if (const auto* i = std::get_if<int64_t>(v)) {
      put64(static_cast<uint64_t>(*i) ^ (uint64_t{1} << 63));
    } else if (const auto* d = std::get_if<double>(v)) {
      uint64_t bits;
      if (std::isnan(*d)) {
        bits = ~uint64_t{0};
      } else {
        std::memcpy(&bits, d, 8);
        bits = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
      }
      put64(bits);
    } else if (const auto* s = std::get_if<std::string>(v)) {
      for (char c : *s) {
        out->push_back(c);
        if (c == 0) out->push_back(1);
      }
      out->push_back(0);
      out->push_back(0);
    }
  }

  // The value of column `c` in `row` (null: the row has no such field). Rows usually carry their
  // fields in the table's column order: that position is tried first.
  const Value* ColumnValue(const Row& row, size_t c) const {
    const std::span<const Row::Field> fields = row.fields();
    return c < fields.size() && fields[c].first == fields_[c] ? &fields[c].second
                                                              : row.Get(fields_[c]);
  }

  // Rows are separate allocations, visited out of allocation order (sorted by key): their fields
  // are fetched this many rows ahead, so that the walk does not wait on a cache miss per row.
  static constexpr size_t kPrefetch = 8;
  static void Prefetch(const Row& row) { __builtin_prefetch(row.fields().data()); }

  // Writes one row; a row error goes to `*row_error`, which must be empty on entry.
  Status WriteRow(const Row& row, std::string* row_error) {
    sqlite3_stmt* stmt = insert_.get();
    for (size_t i = 0; i < columns_.size(); ++i) {
      const Value* value = ColumnValue(row, i);
      const int index = static_cast<int>(i) + 1;
      int rc;
      if (value != nullptr) {
        rc = BindValue(stmt, index, *value);
      } else if (is_key_[i]) {
        *row_error = label_ + ": the row has no field '" + fields_[i] + "' for the key column";
        return Status::Ok();
      } else {
        rc = sqlite3_bind_null(stmt, index);
      }
      if (rc != SQLITE_OK) return RowFailure(db_, stmt, rc, label_, row_error);
    }
    // One statement is atomic by itself: a failed INSERT leaves nothing, no savepoint needed.
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return RowFailure(db_, stmt, rc, label_, row_error);
    sqlite3_reset(stmt);
    return Status::Ok();
  }
};

// One user statement and the row fields its parameters take.
struct UserStatement {
  Statement stmt;
  std::string label;                    // "statement 2 (UPDATE ...)"
  std::vector<std::string> fields;      // parameter i+1 binds the row's field fields[i]
  std::vector<std::string> parameters;  // as written, ":amount", for errors
};

// Rows run in chunks of this many under one savepoint; a failed row costs at most this many
// rows run again.
constexpr size_t kChunkRows = 256;

class StatementsWriter final : public RowWriter {
 public:
  StatementsWriter(SqliteDb* db, std::vector<UserStatement> statements,
                   std::vector<Statement> savepoints)
      : db_(db), statements_(std::move(statements)), savepoints_(std::move(savepoints)) {}

  Status Write(std::span<const SinkRow> rows, std::vector<RowError>* errors) override {
    ONCEFLOW_RETURN_IF_ERROR(Savepoint(kChunk, kBegin));
    const size_t errors_before = errors->size();
    size_t chunk_start = 0;
    std::string error;
    bool stepped = false;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i - chunk_start == kChunkRows) {
        ONCEFLOW_RETURN_IF_ERROR(Savepoint(kChunk, kRelease));
        ONCEFLOW_RETURN_IF_ERROR(Savepoint(kChunk, kBegin));
        chunk_start = i;
      }
      ONCEFLOW_RETURN_IF_ERROR(RunRow(rows[i].row, &error, &stepped));
      if (error.empty()) continue;
      if (stepped) {
        // Row i may have left part of its effect: undo the chunk, then run its good rows again,
        // each on its own (in the same state as before, so they succeed as before), and start
        // a new chunk after row i.
        ONCEFLOW_RETURN_IF_ERROR(Savepoint(kChunk, kRollbackTo));
        // The chunk's rows that failed already fail again in the rerun; report them once.
        while (errors->size() > errors_before && errors->back().index >= chunk_start) {
          errors->pop_back();
        }
        for (size_t j = chunk_start; j < i; ++j) {
          ONCEFLOW_RETURN_IF_ERROR(RunRowAlone(rows[j].row, j, errors));
        }
        ONCEFLOW_RETURN_IF_ERROR(Savepoint(kChunk, kRelease));
        ONCEFLOW_RETURN_IF_ERROR(Savepoint(kChunk, kBegin));
        chunk_start = i + 1;
      }
      errors->push_back({i, std::exchange(error, {})});
    }
    return Savepoint(kChunk, kRelease);
  }

  void ClearBindings() override {
    for (UserStatement& s : statements_) sqlite3_clear_bindings(s.stmt.get());
  }

 private:
  enum SavepointName { kChunk = 0, kRow = 1 };
  enum SavepointOp { kBegin = 0, kRelease = 1, kRollbackTo = 2 };
  static constexpr const char* kSavepointNames[] = {"onceflow_rows", "onceflow_row"};

  Status Savepoint(SavepointName name, SavepointOp op) {
    static constexpr const char* kOps[] = {"SAVEPOINT ", "RELEASE ", "ROLLBACK TO "};
    sqlite3_stmt* stmt = savepoints_[name * 3 + op].get();
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE) return Status::Ok();
    return db_->Error(rc, std::string(kOps[op]) + kSavepointNames[name]);
  }

  // Runs every statement for `row`. A row error goes to `*row_error` (empty on entry), with
  // `*stepped` telling whether some statement had run (and may have left an effect).
  Status RunRow(const Row& row, std::string* row_error, bool* stepped) {
    *stepped = false;
    // Bind everything before running anything: a row that lacks a field fails untouched.
    for (UserStatement& s : statements_) {
      for (size_t i = 0; i < s.fields.size(); ++i) {
        const Value* value = row.Get(s.fields[i]);
        if (value == nullptr) {
          *row_error = s.label + ": the row has no field '" + s.fields[i] + "' for parameter " +
                       s.parameters[i];
          return Status::Ok();
        }
        const int rc = BindValue(s.stmt.get(), static_cast<int>(i) + 1, *value);
        if (rc != SQLITE_OK) return RowFailure(db_, s.stmt.get(), rc, s.label, row_error);
      }
    }
    for (UserStatement& s : statements_) {
      const int rc = StepAll(s.stmt.get());
      if (rc != SQLITE_DONE) {
        *stepped = true;
        return RowFailure(db_, s.stmt.get(), rc, s.label, row_error);
      }
      sqlite3_reset(s.stmt.get());
    }
    return Status::Ok();
  }

  // Runs `row` (number `index`) under a savepoint of its own: all of it or nothing.
  Status RunRowAlone(const Row& row, size_t index, std::vector<RowError>* errors) {
    ONCEFLOW_RETURN_IF_ERROR(Savepoint(kRow, kBegin));
    std::string error;
    bool stepped = false;
    ONCEFLOW_RETURN_IF_ERROR(RunRow(row, &error, &stepped));
    if (!error.empty()) {
      if (stepped) ONCEFLOW_RETURN_IF_ERROR(Savepoint(kRow, kRollbackTo));
      errors->push_back({index, std::move(error)});
    }
    return Savepoint(kRow, kRelease);
  }

  SqliteDb* const db_;
  std::vector<UserStatement> statements_;
  // SAVEPOINT, RELEASE, ROLLBACK TO of onceflow_rows, then of onceflow_row.
  std::vector<Statement> savepoints_;
};

// The names of `table`'s columns, in order; none if there is no such table.
Result<std::vector<std::string>> TableColumns(SqliteDb* db, const std::string& table) {
  ONCEFLOW_ASSIGN_OR_RETURN(Statement info,
                            db->Prepare("PRAGMA table_info(" + QuoteIdentifier(table) + ")",
                                        "read the columns of table '" + table + "'"));
  std::vector<std::string> columns;
  int rc;
  while ((rc = sqlite3_step(info.get())) == SQLITE_ROW) {
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 1));
    columns.emplace_back(name != nullptr ? name : "");
  }
  if (rc != SQLITE_DONE) return Err(db->Error(rc, "read the columns of table '" + table + "'"));
  return columns;
}

// An SQLite authorizer that refuses transaction control in user statements: the sink owns the
// transaction, and a COMMIT inside a row would break the batch's atomicity.
int RefuseTransactionControl(void* refused, int action, const char*, const char*, const char*,
                             const char*) {
  if (action == SQLITE_TRANSACTION || action == SQLITE_SAVEPOINT) {
    *static_cast<bool*>(refused) = true;
    return SQLITE_DENY;
  }
  return SQLITE_OK;
}

Result<UserStatement> PrepareUserStatement(SqliteDb* db, const std::string& sql, size_t number) {
  UserStatement s;
  std::string shown = sql.size() > 200 ? sql.substr(0, 200) + "..." : sql;
  s.label = "statement " + std::to_string(number) + " (" + shown + ")";
  bool refused = false;
  sqlite3_set_authorizer(db->handle(), RefuseTransactionControl, &refused);
  Result<Statement> stmt = db->Prepare(sql, s.label);
  sqlite3_set_authorizer(db->handle(), nullptr, nullptr);
  if (refused) {
    return Err(Status::InvalidArgument("sqlite " + db->path() + ": " + s.label +
                                       ": transaction control (BEGIN, COMMIT, SAVEPOINT, ...) "
                                       "belongs to the sink; remove it"));
  }
  if (!stmt.has_value()) return Err(stmt.error());
  s.stmt = std::move(stmt).value();
  const int count = sqlite3_bind_parameter_count(s.stmt.get());
  for (int i = 1; i <= count; ++i) {
    const char* name = sqlite3_bind_parameter_name(s.stmt.get(), i);
    if (name == nullptr || name[0] == '?') {
      return Err(Status::InvalidArgument("sqlite " + db->path() + ": " + s.label + ": parameter " +
                                         std::to_string(i) +
                                         " is positional (?); name it after a field, :field"));
    }
    s.parameters.emplace_back(name);
    s.fields.emplace_back(name + 1);  // without the :, @ or $
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<RowWriter>> MakeTableWriter(SqliteDb* db, const std::string& table,
                                                   std::span<const std::string> key,
                                                   std::span<const ColumnField> mapped) {
  // They are spliced into SQL text unquoted: anything else is an injection, not a table name.
  ONCEFLOW_CHECK(IsSafeIdentifier(table)) << "table '" << table << "'";
  for (const std::string& k : key) ONCEFLOW_CHECK(IsSafeIdentifier(k)) << "key '" << k << "'";
  const std::string where = "sqlite " + db->path() + ": " +
                            (mapped.empty() ? "sink.table '" : "sink.append.table '") + table + "'";
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> columns, TableColumns(db, table));
  if (columns.empty()) {
    return Err(Status::InvalidArgument(where + " does not exist (create it with sink.init)"));
  }
  std::vector<bool> is_key(columns.size(), false);
  for (const std::string& k : key) {
    size_t i = 0;
    while (i < columns.size() && columns[i] != k) ++i;
    if (i == columns.size()) {
      return Err(Status::InvalidArgument(where + " has no column '" + k + "' (named in sink.key)"));
    }
    is_key[i] = true;
  }
  std::vector<std::string> fields = columns;
  if (!mapped.empty()) {
    ONCEFLOW_CHECK(key.empty()) << "mapped columns in upsert mode";
    fields.clear();
    std::vector<std::string> chosen;
    for (const ColumnField& m : mapped) {
      ONCEFLOW_CHECK(IsSafeIdentifier(m.column)) << "column '" << m.column << "'";
      if (std::find(columns.begin(), columns.end(), m.column) == columns.end()) {
        return Err(Status::InvalidArgument(where + " has no column '" + m.column +
                                           "' (named in sink.append.columns)"));
      }
      chosen.push_back(m.column);
      fields.push_back(m.field);
    }
    columns = std::move(chosen);
    is_key.assign(columns.size(), false);
  }

  std::string sql = "INSERT INTO " + QuoteIdentifier(table) + "(";
  std::string values;
  for (size_t i = 0; i < columns.size(); ++i) {
    sql += (i > 0 ? "," : "") + QuoteIdentifier(columns[i]);
    values += (i > 0 ? ",?" : "?") + std::to_string(i + 1);
  }
  sql += ") VALUES(" + values + ")";
  if (!key.empty()) {
    sql += " ON CONFLICT(";
    for (size_t i = 0; i < key.size(); ++i) sql += (i > 0 ? "," : "") + QuoteIdentifier(key[i]);
    std::string updates;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (is_key[i]) continue;
      const std::string c = QuoteIdentifier(columns[i]);
      updates += (updates.empty() ? "" : ",") + c + "=excluded." + c;
    }
    sql += updates.empty() ? ") DO NOTHING" : ") DO UPDATE SET " + updates;
  }
  const std::string label = (key.empty() ? "insert into " : "upsert into ") + table;
  ONCEFLOW_ASSIGN_OR_RETURN(Statement insert, db->Prepare(sql, label));
  return std::make_unique<TableWriter>(db, label, std::move(columns), std::move(fields),
                                       std::move(is_key), std::move(insert));
}

Result<std::unique_ptr<RowWriter>> MakeStatementsWriter(SqliteDb* db,
                                                        std::span<const std::string> statements) {
  std::vector<UserStatement> prepared;
  for (size_t i = 0; i < statements.size(); ++i) {
    ONCEFLOW_ASSIGN_OR_RETURN(UserStatement s, PrepareUserStatement(db, statements[i], i + 1));
    prepared.push_back(std::move(s));
  }
  std::vector<Statement> savepoints;
  for (const char* name : {"onceflow_rows", "onceflow_row"}) {
    for (const char* op : {"SAVEPOINT ", "RELEASE ", "ROLLBACK TO "}) {
      const std::string sql = std::string(op) + name;
      ONCEFLOW_ASSIGN_OR_RETURN(Statement stmt, db->Prepare(sql, sql));
      savepoints.push_back(std::move(stmt));
    }
  }
  return std::make_unique<StatementsWriter>(db, std::move(prepared), std::move(savepoints));
}

}  // namespace onceflow::sink
