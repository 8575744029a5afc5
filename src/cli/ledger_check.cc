// The ledger demo's exact check, with read-only SQLite queries.
#include "cli/ledger_check.h"

#include <fmt/core.h>
#include <sqlite3.h>

#include <functional>
#include <memory>

namespace onceflow::cli {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// A read-only connection that runs queries of integer columns.
class Reader {
 public:
  static Result<Reader> Open(const std::string& path) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    std::unique_ptr<sqlite3, DbCloser> owned(db);
    if (rc != SQLITE_OK) {
      return Err(Status::IoError(
          fmt::format("cannot open {}: {}", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))));
    }
    return Reader(path, std::move(owned));
  }

  // Calls `row` with the integer columns of every result row.
  Status Query(const std::string& sql, const std::function<void(const int64_t* cols)>& row) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      return Status::InvalidArgument(
          fmt::format("{}: {}: {}", path_, sql, sqlite3_errmsg(db_.get())));
    }
    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw);
    const int n = sqlite3_column_count(raw);
    std::vector<int64_t> cols(static_cast<size_t>(n));
    int rc;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      for (int c = 0; c < n; ++c) cols[static_cast<size_t>(c)] = sqlite3_column_int64(raw, c);
      row(cols.data());
    }
    if (rc != SQLITE_DONE) {
      return Status::IoError(fmt::format("{}: {}: {}", path_, sql, sqlite3_errmsg(db_.get())));
    }
    return Status::Ok();
  }

 private:
  Reader(std::string path, std::unique_ptr<sqlite3, DbCloser> db)
      : path_(std::move(path)), db_(std::move(db)) {}
  std::string path_;
  std::unique_ptr<sqlite3, DbCloser> db_;
};

}  // namespace

Result<std::vector<LedgerCheck>> CheckLedger(const std::string& db_path,
                                             std::span<const Transfer> transfers, int64_t accounts,
                                             const std::string& pipeline) {
  ONCEFLOW_ASSIGN_OR_RETURN(Reader db, Reader::Open(db_path));
  std::vector<LedgerCheck> checks;
  const auto n = static_cast<int64_t>(transfers.size());

  int64_t rows = 0, distinct = 0;
  ONCEFLOW_RETURN_IF_ERROR(db.Query("SELECT COUNT(*), COUNT(DISTINCT id) FROM ledger",
                                    [&](const int64_t* c) { rows = c[0], distinct = c[1]; }));
  checks.push_back(
      {"ledger rows == transfers", fmt::format("{} rows, {} transfers", rows, n), rows == n});
  checks.push_back({"no duplicate transfer id", fmt::format("{} duplicate row(s)", rows - distinct),
                    rows == distinct});

  // Every row is the transfer of its id, and every transfer has a row.
  int64_t wrong = 0;
  std::string first_wrong;
  std::vector<bool> seen(transfers.size(), false);
  ONCEFLOW_RETURN_IF_ERROR(
      db.Query("SELECT id, src, dst, amount FROM ledger", [&](const int64_t* c) {
        const bool known = c[0] >= 0 && c[0] < n;
        const Transfer* t = known ? &transfers[static_cast<size_t>(c[0])] : nullptr;
        if (known && !seen[static_cast<size_t>(c[0])] && t->from == c[1] && t->to == c[2] &&
            t->amount == c[3]) {
          seen[static_cast<size_t>(c[0])] = true;
          return;
        }
        if (++wrong == 1) {
          first_wrong =
              fmt::format(" (first: id {} src {} dst {} amount {})", c[0], c[1], c[2], c[3]);
        }
      }));
  int64_t missing = 0;
  for (bool s : seen) missing += s ? 0 : 1;
  checks.push_back({"every transfer in the ledger once, as produced",
                    fmt::format("{} missing, {} wrong or repeated{}", missing, wrong, first_wrong),
                    missing == 0 && wrong == 0});

  // Money is conserved, and every balance is what the transfers say.
  std::vector<int64_t> expected(static_cast<size_t>(accounts), 0);
  std::vector<bool> touched(static_cast<size_t>(accounts), false);
  for (const Transfer& t : transfers) {
    expected[static_cast<size_t>(t.from)] -= t.amount;
    expected[static_cast<size_t>(t.to)] += t.amount;
    touched[static_cast<size_t>(t.from)] = touched[static_cast<size_t>(t.to)] = true;
  }
  int64_t total = 0, account_rows = 0, bad_accounts = 0;
  std::string first_bad;
  ONCEFLOW_RETURN_IF_ERROR(db.Query("SELECT id, balance FROM accounts", [&](const int64_t* c) {
    total += c[1];
    ++account_rows;
    const bool known = c[0] >= 0 && c[0] < accounts && touched[static_cast<size_t>(c[0])];
    if (known && expected[static_cast<size_t>(c[0])] == c[1]) return;
    if (++bad_accounts == 1) {
      first_bad = fmt::format(
          " (first: account {} has {}, the transfers give {})", c[0], c[1],
          known ? std::to_string(expected[static_cast<size_t>(c[0])]) : std::string("no account"));
    }
  }));
  int64_t touched_count = 0;
  for (bool t : touched) touched_count += t ? 1 : 0;
  checks.push_back(
      {"total balance conserved (sum == 0)", fmt::format("sum {}", total), total == 0});
  checks.push_back({"every balance equal to the transfers' sum",
                    fmt::format("{} accounts, {} expected, {} wrong{}", account_rows, touched_count,
                                bad_accounts, first_bad),
                    bad_accounts == 0 && account_rows == touched_count});

  int64_t dead = 0;
  ONCEFLOW_RETURN_IF_ERROR(
      db.Query("SELECT COUNT(*) FROM onceflow_dead_letters WHERE pipeline = '" + pipeline + "'",
               [&](const int64_t* c) { dead = c[0]; }));
  checks.push_back({"no dead letter", fmt::format("{} dead letter(s)", dead), dead == 0});
  return checks;
}

}  // namespace onceflow::cli
