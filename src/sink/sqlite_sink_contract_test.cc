// The sink contracts (sink_contract_test.h, sql_sink_contract_test.h) on the SQLite sink, in a
// database of each test's own.
#include <sqlite3.h>

#include "sink/sink_contract_test.h"
#include "sink/sql_sink_additive_contract_test.h"
#include "sink/sql_sink_contract_test.h"
#include "sink/sql_sink_failure_contract_test.h"
#include "sink/sql_sink_modes_contract_test.h"
#include "sink/sqlite_sink.h"
#include "testing/sqlite_query.h"
#include "testing/temp_dir.h"

namespace onceflow::sink::testing {
namespace {

using contract::SqlSinkSetup;

// The progress table as onceflow created it before it recorded sources and starts.
constexpr char kOldProgressTable[] =
    "CREATE TABLE IF NOT EXISTS onceflow_progress(pipeline TEXT NOT NULL, task INTEGER NOT NULL, "
    "last_batch INTEGER NOT NULL, epoch INTEGER NOT NULL, ranges TEXT NOT NULL, "
    "committed_at_ms INTEGER NOT NULL, PRIMARY KEY(pipeline, task))";

// A database file in a temporary directory.
class SqliteEnvBase {
 public:
  void SetUp() {
    dir_ = std::make_unique<::onceflow::testing::TempDir>("sink-contract");
    ASSERT_FALSE(dir_->path().empty());
    path_ = dir_->path() + "/out.db";
  }
  void TearDown() { dir_.reset(); }

  // Runs SQL through a connection of the test's own; fails the test on an error.
  void Exec(const std::string& sql) {
    EXPECT_EQ(::onceflow::testing::SqliteExec(path_, sql), "") << sql;
  }

 protected:
  std::unique_ptr<Sink> Open(SqliteSinkOptions o) {
    o.path = path_;
    return testing::OpenedOrFail(MakeSqliteSink(std::move(o)));
  }

  std::unique_ptr<::onceflow::testing::TempDir> dir_;
  std::string path_;
};

class SqliteContractEnv : public SqliteEnvBase {
 public:
  std::unique_ptr<Sink> OpenSink() {
    SqliteSinkOptions o;
    o.init = {"CREATE TABLE IF NOT EXISTS out(v INTEGER)"};
    o.table = "out";
    return Open(std::move(o));
  }

  std::string Pipeline(const std::string& name) { return name; }

  void WriteOldProgress(const std::string& pipeline, int32_t task, int64_t batch, int64_t epoch,
                        const std::string& ranges) {
    Exec(kOldProgressTable);
    Exec("INSERT INTO onceflow_progress VALUES('" + pipeline + "', " + std::to_string(task) + ", " +
         std::to_string(batch) + ", " + std::to_string(epoch) + ", '" + ranges + "', 0)");
  }
};

SqliteSinkOptions ToOptions(const SqlSinkSetup& setup) {
  SqliteSinkOptions o;
  o.init = setup.init;
  o.mode = setup.mode;
  o.table = setup.table;
  o.key = setup.key;
  o.statements = setup.statements;
  o.add = setup.add;
  o.append = setup.append;
  return o;
}

class SqliteSqlEnv : public SqliteEnvBase {
 public:
  static constexpr int kOverdraftEvery = 7;
  static constexpr int kConcurrentBatches = 25;

  std::unique_ptr<Sink> OpenSink(const SqlSinkSetup& setup) { return Open(ToOptions(setup)); }
  Result<std::unique_ptr<Sink>> MakeSink(const SqlSinkSetup& setup) {
    SqliteSinkOptions o = ToOptions(setup);
    o.path = path_;
    return MakeSqliteSink(std::move(o));
  }
  std::vector<std::string> Query(const std::string& sql) {
    return ::onceflow::testing::SqliteRows(path_, sql);
  }

  static SqlSinkSetup Bank() {
    SqlSinkSetup o;
    o.init = {"CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, "
              "balance INTEGER NOT NULL CHECK(balance >= 0))",
              "CREATE TABLE IF NOT EXISTS ledger(account INTEGER NOT NULL, amount INTEGER)",
              "INSERT OR IGNORE INTO accounts VALUES(1, 100), (2, 0)"};
    o.mode = SinkMode::kStatements;
    o.statements = {"INSERT INTO ledger(account, amount) VALUES(:account, :amount)",
                    "UPDATE accounts SET balance = balance + :amount WHERE id = :account"};
    return o;
  }
  // Non-idempotent on purpose: a batch applied twice shows in the balance.
  static SqlSinkSetup Deposits() {
    SqlSinkSetup o;
    o.init = {"CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER)",
              "CREATE TABLE IF NOT EXISTS ledger(account INTEGER, amount INTEGER, pad TEXT)",
              "INSERT OR IGNORE INTO accounts VALUES(1, 0)"};
    o.mode = SinkMode::kStatements;
    o.statements = {"INSERT INTO ledger(account, amount, pad) VALUES(:account, :amount, :pad)",
                    "UPDATE accounts SET balance = balance + :amount WHERE id = :account"};
    return o;
  }
  static std::string LedgerInOrder() { return "SELECT * FROM ledger ORDER BY rowid"; }
  static std::string RawAsText() { return "raw"; }
  static std::string CheckViolation() { return "CHECK constraint failed: balance >= 0"; }
  static std::string JoinedInOrder(const std::string& column, const std::string& table) {
    return "SELECT group_concat(" + column + ") FROM (SELECT " + column + " FROM " + table +
           " ORDER BY rowid)";
  }

  static std::string DoubleType() { return "REAL"; }
  static std::string BoolType() { return "INTEGER"; }
  static std::string BoolText(bool b) { return b ? "1" : "0"; }
  static std::string WholeDoubleText(int64_t v) { return std::to_string(v) + ".0"; }
  bool Describes(const std::string& describe) const { return describe == "sqlite " + path_; }
  static std::string RawHex() { return "hex(raw)"; }
  static std::string NotNullViolation(const std::string& table, const std::string& column) {
    return "NOT NULL constraint failed: " + table + "." + column;
  }
  // The other prefixes: @field and $field.
  static void AddParameterForms(SqlSinkSetup* o) {
    o->statements.push_back("UPDATE accounts SET balance = balance - :amount + @amount + $fee - "
                            "$fee WHERE id = :account");
  }
  static std::vector<std::pair<std::string, std::vector<std::string>>> ParameterFormsEffects() {
    return {};
  }
  static constexpr const char* kTwoStatementsError = "holds more than one SQL statement";
  static std::string SyntaxError(const std::string& token) {
    return "near \"" + token + "\": syntax error";
  }
  static std::vector<std::pair<SqlSinkSetup, std::string>> OpenErrors() {
    SqlSinkSetup positional = Bank();
    positional.statements = {"UPDATE accounts SET balance = ? WHERE id = :account"};
    return {{positional, "parameter 1 is positional (?)"}};
  }
};

}  // namespace
}  // namespace onceflow::sink::testing

namespace onceflow::sink::testing::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SinkContractTest, SqliteContractEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SqlSinkContractTest, SqliteSqlEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SqlSinkFailureContractTest, SqliteSqlEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SqlSinkModesContractTest, SqliteSqlEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SqlSinkAdditiveContractTest, SqliteSqlEnv);
}  // namespace onceflow::sink::testing::contract
