// The SQLite sink's additive mode: sums per key, one upsert per key per commit.
#include "sink/sqlite_additive_writer.h"

#include <string>
#include <utility>
#include <vector>

#include "sink/additive_sums.h"
#include "sink/sink_protocol.h"

namespace onceflow::sink {
namespace {

// onceflow_add(stored, delta): stored NULL counts as 0; two integers add exactly or fail (never
// SQLite's silent switch to REAL past int64); a REAL on either side adds as REAL; a stored value
// that is not a number fails.
void SqliteAdditiveAdd(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  const int stored = sqlite3_value_type(argv[0]);
  const int delta = sqlite3_value_type(argv[1]);
  if (stored == SQLITE_NULL) {
    sqlite3_result_value(ctx, argv[1]);
    return;
  }
  if (stored == SQLITE_INTEGER && delta == SQLITE_INTEGER) {
    int64_t sum;
    if (__builtin_add_overflow(sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1]), &sum)) {
      sqlite3_result_error(ctx, "the sum leaves the 64-bit integer range", -1);
      return;
    }
    sqlite3_result_int64(ctx, sum);
    return;
  }
  const auto is_number = [](int t) { return t == SQLITE_INTEGER || t == SQLITE_FLOAT; };
  if (is_number(stored) && is_number(delta)) {
    sqlite3_result_double(ctx, sqlite3_value_double(argv[0]) + sqlite3_value_double(argv[1]));
    return;
  }
  sqlite3_result_error(ctx, "the stored value is not a number", -1);
}

class AdditiveWriter final : public RowWriter {
 public:
  AdditiveWriter(SqliteDb* db, AdditiveSums sums, std::vector<Statement> upserts,
                 std::unique_ptr<RowWriter> append)
      : db_(db), sums_(std::move(sums)), upserts_(std::move(upserts)), append_(std::move(append)) {}

  Status Write(std::span<const SinkRow> rows, std::vector<RowError>* errors) override {
    if (append_ == nullptr) return sums_.AddRows(rows, nullptr, errors);
    return sums_.AddRows(
        rows,
        [&](std::span<const SinkRow> good, std::vector<RowError>* append_errors) -> Status {
          ONCEFLOW_RETURN_IF_ERROR(append_->Write(good, append_errors));
          // Not `rows`: the sums' copy of the good rows, rebuilt by the next call.
          if (good.data() != rows.data()) append_->ClearBindings();
          return Status::Ok();
        },
        errors);
  }

  Status Finish() override {
    std::span<const AdditiveSums::Table> tables = sums_.tables();
    for (size_t t = 0; t < tables.size(); ++t) {
      const AdditiveSums::Table& table = tables[t];
      sqlite3_stmt* stmt = upserts_[t].get();
      for (size_t e : sums_.SortedEntries(table)) {
        const AdditiveSums::Entry& entry = table.entries[e];
        int index = 1;
        int rc = SQLITE_OK;
        for (const Value& k : entry.key) {
          if (rc == SQLITE_OK) rc = BindValue(stmt, index, k);
          ++index;
        }
        for (size_t c = 0; c < table.columns.size(); ++c) {
          ONCEFLOW_ASSIGN_OR_RETURN(Value total, sums_.Total(table, entry, c));
          if (rc == SQLITE_OK) rc = BindValue(stmt, index, total);
          ++index;
        }
        if (rc == SQLITE_OK) {
          while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
          }
          if (rc == SQLITE_DONE) rc = SQLITE_OK;
        }
        if (rc != SQLITE_OK) {
          Status s = db_->IsRowError(rc)
                         ? Status::Aborted("sqlite " + db_->path() + ": additive " +
                                           AdditiveSums::Name(table, entry) + ": " +
                                           std::string(db_->Message()) +
                                           "; refused (nothing of the batch is committed)")
                         : db_->Error(rc, "additive " + AdditiveSums::Name(table, entry));
          sqlite3_reset(stmt);
          sqlite3_clear_bindings(stmt);
          return s;
        }
        sqlite3_reset(stmt);
      }
      sqlite3_clear_bindings(stmt);  // the key strings are the sums', cleared below
    }
    sums_.Clear();
    return Status::Ok();
  }

  void ClearBindings() override {
    for (Statement& s : upserts_) sqlite3_clear_bindings(s.get());
    if (append_ != nullptr) append_->ClearBindings();
    sums_.Clear();
  }

 private:
  SqliteDb* const db_;
  AdditiveSums sums_;
  std::vector<Statement> upserts_;     // one per table of sums_, in its order
  std::unique_ptr<RowWriter> append_;  // sink.append; null: none
};

}  // namespace

Result<std::unique_ptr<RowWriter>> MakeAdditiveWriter(SqliteDb* db, std::span<const AddTo> add,
                                                      const AppendTo& append) {
  if (sqlite3_create_function_v2(db->handle(), "onceflow_add", 2,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, SqliteAdditiveAdd,
                                 nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Err(db->Error(sqlite3_errcode(db->handle()), "register onceflow_add"));
  }
  AdditiveSums sums(add);
  std::vector<Statement> upserts;
  for (const AdditiveSums::Table& t : sums.tables()) {
    std::string list;
    std::string values;
    std::string keys;
    std::string updates;
    int n = 0;
    for (const std::string& k : t.key_columns) {
      // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "literal" + string&&.
      const std::string q = QuoteIdentifier(k);
      if (n > 0) {
        list += ',';
        values += ',';
        keys += ',';
      }
      list += q;
      values += '?';
      values += std::to_string(n + 1);
      keys += q;
      ++n;
    }
    for (const std::string& c : t.columns) {
      const std::string q = QuoteIdentifier(c);
      list += ',';
      list += q;
      values += ",?";
      values += std::to_string(n + 1);
      if (!updates.empty()) updates += ',';
      updates += q;
      updates += "=onceflow_add(";
      updates += q;
      updates += ",excluded.";
      updates += q;
      updates += ')';
      ++n;
    }
    const std::string sql = "INSERT INTO " + QuoteIdentifier(t.name) + "(" + list + ") VALUES(" +
                            values + ") ON CONFLICT(" + keys + ") DO UPDATE SET " + updates;
    ONCEFLOW_ASSIGN_OR_RETURN(Statement s, db->Prepare(sql, "sink.add table '" + t.name + "'"));
    upserts.push_back(std::move(s));
  }
  std::unique_ptr<RowWriter> appender;
  if (!append.table.empty()) {
    ONCEFLOW_ASSIGN_OR_RETURN(appender, MakeTableWriter(db, append.table, {}, append.columns));
  }
  return std::make_unique<AdditiveWriter>(db, std::move(sums), std::move(upserts),
                                          std::move(appender));
}

}  // namespace onceflow::sink
