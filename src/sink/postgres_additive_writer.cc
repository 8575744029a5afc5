// The PostgreSQL sink's additive mode: sums per key, multi-row upserts per commit.
#include "sink/postgres_additive_writer.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "sink/additive_sums.h"
#include "sink/sink_protocol.h"

namespace onceflow::sink {
namespace {

// Keys per upsert statement: few round trips, far below the 65535 parameters of a statement.
constexpr size_t kAdditiveKeysPerStatement = 1000;

// An identifier as PostgreSQL folds an unquoted one (lower case), then quoted.
std::string PgAdditiveName(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return QuoteIdentifier(out);
}

// One table of the sums: the head of its upsert ("INSERT INTO t(k, c) VALUES") and its tail
// (" ON CONFLICT ... DO UPDATE SET ..."); the VALUES lists go between.
struct PgUpsert {
  std::string head;
  std::string tail;
  size_t width = 0;  // parameters per key
};

class PgAdditiveWriter final : public PgRowWriter {
 public:
  PgAdditiveWriter(AdditiveSums sums, std::vector<PgUpsert> upserts,
                   std::unique_ptr<PgRowWriter> append)
      : sums_(std::move(sums)), upserts_(std::move(upserts)), append_(std::move(append)) {}

  Status Write(PgConn* conn, std::span<const SinkRow> rows,
               std::vector<RowError>* errors) override {
    if (append_ == nullptr) return sums_.AddRows(rows, nullptr, errors);
    return sums_.AddRows(
        rows,
        [&](std::span<const SinkRow> good, std::vector<RowError>* append_errors) {
          return append_->Write(conn, good, append_errors);
        },
        errors);
  }

  Status Finish(PgConn* conn) override {
    if (sums_.empty()) return Status::Ok();
    // One savepoint, so that a refused statement can be searched for its key.
    ONCEFLOW_RETURN_IF_ERROR(conn->Exec("SAVEPOINT onceflow_add", "savepoint"));
    std::span<const AdditiveSums::Table> tables = sums_.tables();
    for (size_t t = 0; t < tables.size(); ++t) {
      const std::vector<size_t> order = sums_.SortedEntries(tables[t]);
      for (size_t first = 0; first < order.size(); first += kAdditiveKeysPerStatement) {
        const size_t n = std::min(kAdditiveKeysPerStatement, order.size() - first);
        const std::span<const size_t> keys(order.data() + first, n);
        bool refused = false;
        ONCEFLOW_RETURN_IF_ERROR(Upsert(conn, t, keys, &refused));
        if (refused) return FindRefusedKey(conn, t, keys);
      }
    }
    sums_.Clear();
    return conn->Exec("RELEASE SAVEPOINT onceflow_add", "release savepoint");
  }

  void Discard() override { sums_.Clear(); }

  void NewConnection() override {
    if (append_ != nullptr) append_->NewConnection();
  }

 private:
  // Upserts the entries `keys` of table `t` in one statement. `*refused`: the server refused
  // it for its data (the transaction is then aborted); any other failure is returned.
  Status Upsert(PgConn* conn, size_t t, std::span<const size_t> keys, bool* refused) {
    const AdditiveSums::Table& table = sums_.tables()[t];
    const PgUpsert& u = upserts_[t];
    sql_ = u.head;
    values_.assign(keys.size() * u.width, std::string());
    size_t p = 0;
    std::string error;
    for (size_t k = 0; k < keys.size(); ++k) {
      const AdditiveSums::Entry& entry = table.entries[keys[k]];
      sql_ += k > 0 ? ",(" : "(";
      for (size_t c = 0; c < u.width; ++c) {
        sql_ += c > 0 ? ",$" : "$";
        sql_ += std::to_string(p + 1);
        if (c < entry.key.size()) {
          AppendValueText(entry.key[c], &values_[p], &error);
        } else {
          ONCEFLOW_ASSIGN_OR_RETURN(Value total, sums_.Total(table, entry, c - entry.key.size()));
          AppendValueText(total, &values_[p], &error);
        }
        if (!error.empty()) {
          return Status::Aborted(conn->describe() + ": additive " +
                                 AdditiveSums::Name(table, entry) + ": " + error);
        }
        ++p;
      }
      sql_ += ")";
    }
    sql_ += u.tail;
    params_.clear();
    for (const std::string& v : values_) params_.push_back(v.c_str());
    PgResult r(PQexecParams(conn->handle(), sql_.c_str(), static_cast<int>(params_.size()), nullptr,
                            params_.data(), nullptr, nullptr, 0));
    if (r != nullptr && PQresultStatus(r.get()) == PGRES_COMMAND_OK) return Status::Ok();
    if (conn->broken() || !IsRowErrorState(SqlState(r.get()))) {
      return conn->Error(r.get(), "additive upsert into " + table.name);
    }
    *refused = true;
    last_error_ = PrimaryMessage(r.get());
    return Status::Ok();
  }

  // A statement of `keys` was refused: rolls back to the savepoint and upserts them one by one
  // to name the key the server refuses. Always returns an error (the batch is refused).
  Status FindRefusedKey(PgConn* conn, size_t t, std::span<const size_t> keys) {
    const AdditiveSums::Table& table = sums_.tables()[t];
    ONCEFLOW_RETURN_IF_ERROR(
        conn->Exec("ROLLBACK TO SAVEPOINT onceflow_add", "roll back to savepoint"));
    for (size_t k = 0; k < keys.size(); ++k) {
      bool refused = false;
      ONCEFLOW_RETURN_IF_ERROR(Upsert(conn, t, keys.subspan(k, 1), &refused));
      if (refused) {
        return Status::Aborted(conn->describe() + ": additive " +
                               AdditiveSums::Name(table, table.entries[keys[k]]) + ": " +
                               last_error_ + "; refused (nothing of the batch is committed)");
      }
    }
    return Status::Aborted(conn->describe() + ": additive upsert into " + table.name + ": " +
                           last_error_ + "; refused (nothing of the batch is committed)");
  }

  AdditiveSums sums_;
  std::vector<PgUpsert> upserts_;        // one per table of sums_, in its order
  std::unique_ptr<PgRowWriter> append_;  // sink.append; null: none
  std::string sql_;                      // Upsert's scratch
  std::vector<std::string> values_;      // Upsert's parameters as text
  std::vector<const char*> params_;
  std::string last_error_;  // the server's message of the last refused upsert
};

}  // namespace

Result<std::unique_ptr<PgRowWriter>> MakePgAdditiveWriter(PgConn* conn, std::span<const AddTo> add,
                                                          const AppendTo& append) {
  AdditiveSums sums(add);
  std::vector<PgUpsert> upserts;
  for (const AdditiveSums::Table& t : sums.tables()) {
    PgUpsert u;
    const std::string name = PgAdditiveName(t.name);
    std::string list;
    std::string keys;
    std::string updates;
    for (const std::string& k : t.key_columns) {
      // Piece by piece: GCC 12 warns (-Wrestrict, falsely) on "literal" + string&&.
      if (!list.empty()) {
        list += ',';
        keys += ',';
      }
      list += PgAdditiveName(k);
      keys += PgAdditiveName(k);
    }
    for (const std::string& c : t.columns) {
      const std::string q = PgAdditiveName(c);
      list += "," + q;
      updates +=
          (updates.empty() ? "" : ",") + q + "=COALESCE(" + name + "." + q + ",0)+EXCLUDED." + q;
    }
    u.head = "INSERT INTO " + name + "(" + list + ") VALUES";
    u.tail = " ON CONFLICT(" + keys + ") DO UPDATE SET " + updates;
    u.width = t.key_columns.size() + t.columns.size();
    // Checked once at open, with NULLs (EXPLAIN plans it: an ON CONFLICT without a matching
    // unique constraint is only found by the planner).
    std::string check = "EXPLAIN " + u.head + "(";
    for (size_t i = 0; i < u.width; ++i) {
      check += i > 0 ? ",$" : "$";
      check += std::to_string(i + 1);
    }
    check += ")" + u.tail;
    const std::vector<const char*> nulls(u.width, nullptr);
    PgResult r(PQexecParams(conn->handle(), check.c_str(), static_cast<int>(u.width), nullptr,
                            nulls.data(), nullptr, nullptr, 0));
    if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      return Err(conn->Error(r.get(), "sink.add table '" + t.name + "'", /*config=*/true));
    }
    upserts.push_back(std::move(u));
  }
  std::unique_ptr<PgRowWriter> appender;
  if (!append.table.empty()) {
    ONCEFLOW_ASSIGN_OR_RETURN(appender, MakePgTableWriter(conn, append.table, {}, append.columns));
  }
  return std::make_unique<PgAdditiveWriter>(std::move(sums), std::move(upserts),
                                            std::move(appender));
}

}  // namespace onceflow::sink
