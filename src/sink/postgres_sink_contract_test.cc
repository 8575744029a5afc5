// The sink contracts (sink_contract_test.h, sql_sink_contract_test.h) on the PostgreSQL sink, in
// a schema of each test's own on the test run's server.
#include "sink/postgres_sink.h"
#include "sink/sink_contract_test.h"
#include "sink/sql_sink_additive_contract_test.h"
#include "sink/sql_sink_contract_test.h"
#include "sink/sql_sink_failure_contract_test.h"
#include "sink/sql_sink_modes_contract_test.h"
#include "testing/postgres.h"

namespace onceflow::sink::testing {
namespace {

class PostgresContractEnv {
 public:
  void SetUp() {
    ONCEFLOW_REQUIRE_POSTGRES();
    server_ = onceflow::testing::TestPostgres();
    schema_ = onceflow::testing::UniqueName("contract");
    conninfo_ = onceflow::testing::WithSchema(server_, schema_);
  }
  void TearDown() {
    if (schema_.empty()) return;
    onceflow::testing::PgQuery(server_, "DROP SCHEMA " + schema_ + " CASCADE");
  }

  std::unique_ptr<Sink> OpenSink() {
    PostgresSinkOptions o;
    o.conninfo = conninfo_;
    o.init = {"CREATE TABLE IF NOT EXISTS out(v BIGINT)"};
    o.table = "out";
    return testing::OpenedOrFail(MakePostgresSink(std::move(o)));
  }

  std::string Pipeline(const std::string& name) { return name; }

  // The progress table as onceflow created it before it recorded sources and starts.
  void WriteOldProgress(const std::string& pipeline, int32_t task, int64_t batch, int64_t epoch,
                        const std::string& ranges) {
    onceflow::testing::PgQuery(
        conninfo_,
        "CREATE TABLE IF NOT EXISTS onceflow_progress(pipeline TEXT NOT NULL, task INTEGER NOT "
        "NULL, last_batch BIGINT NOT NULL, epoch BIGINT NOT NULL, ranges TEXT NOT NULL, "
        "committed_at_ms BIGINT NOT NULL, PRIMARY KEY(pipeline, task))");
    onceflow::testing::PgQuery(conninfo_, "INSERT INTO onceflow_progress VALUES('" + pipeline +
                                              "', " + std::to_string(task) + ", " +
                                              std::to_string(batch) + ", " + std::to_string(epoch) +
                                              ", '" + ranges + "', 0)");
  }

 private:
  std::string server_, schema_, conninfo_;
};

using contract::SqlSinkSetup;

class PostgresSqlEnv {
 public:
  static constexpr int kOverdraftEvery = 37;
  static constexpr int kConcurrentBatches = 15;

  void SetUp() {
    ONCEFLOW_REQUIRE_POSTGRES();
    server_ = onceflow::testing::TestPostgres();
    schema_ = onceflow::testing::UniqueName("sinktest");
    conninfo_ = onceflow::testing::WithSchema(server_, schema_);
  }
  void TearDown() {
    if (schema_.empty()) return;
    onceflow::testing::PgQuery(server_, "DROP SCHEMA " + schema_ + " CASCADE");
  }

  Result<std::unique_ptr<Sink>> MakeSink(const SqlSinkSetup& setup) {
    PostgresSinkOptions o;
    o.conninfo = conninfo_;
    o.init = setup.init;
    o.mode = setup.mode;
    o.table = setup.table;
    o.key = setup.key;
    o.statements = setup.statements;
    o.add = setup.add;
    o.append = setup.append;
    return MakePostgresSink(std::move(o));
  }
  std::unique_ptr<Sink> OpenSink(const SqlSinkSetup& setup) {
    return testing::OpenedOrFail(MakeSink(setup));
  }
  std::vector<std::string> Query(const std::string& sql) {
    return onceflow::testing::PgQuery(conninfo_, sql);
  }
  void Exec(const std::string& sql) { Query(sql); }

  static SqlSinkSetup Bank() {
    SqlSinkSetup o;
    o.init = {"CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, "
              "balance INTEGER NOT NULL CHECK(balance >= 0))",
              "CREATE TABLE IF NOT EXISTS ledger(seq SERIAL, account INTEGER NOT NULL, "
              "amount INTEGER)",
              "INSERT INTO accounts VALUES(1, 100), (2, 0) ON CONFLICT DO NOTHING"};
    o.mode = SinkMode::kStatements;
    o.statements = {"INSERT INTO ledger(account, amount) VALUES(:account, :amount)",
                    "UPDATE accounts SET balance = balance + :amount WHERE id = :account"};
    return o;
  }
  // Non-idempotent on purpose: a batch applied twice shows in the balance.
  static SqlSinkSetup Deposits() {
    SqlSinkSetup o;
    o.init = {"CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance BIGINT)",
              "CREATE TABLE IF NOT EXISTS ledger(account INTEGER, amount INTEGER, pad TEXT)",
              "INSERT INTO accounts VALUES(1, 0) ON CONFLICT DO NOTHING"};
    o.mode = SinkMode::kStatements;
    o.statements = {"INSERT INTO ledger(account, amount, pad) VALUES(:account, :amount, :pad)",
                    "UPDATE accounts SET balance = balance + :amount WHERE id = :account"};
    return o;
  }
  static std::string LedgerInOrder() { return "SELECT account, amount FROM ledger ORDER BY seq"; }
  static std::string RawAsText() { return "convert_from(raw, 'UTF8')"; }
  static std::string CheckViolation() {
    return "new row for relation \"accounts\" violates check constraint "
           "\"accounts_balance_check\"";
  }
  static std::string JoinedInOrder(const std::string& column, const std::string& table) {
    return "SELECT string_agg(" + column + "::text, ',' ORDER BY " + column + ") FROM " + table;
  }

  static std::string DoubleType() { return "DOUBLE PRECISION"; }
  static std::string BoolType() { return "BOOLEAN"; }
  static std::string BoolText(bool b) { return b ? "t" : "f"; }
  static std::string WholeDoubleText(int64_t v) { return std::to_string(v); }
  // The test run's server (scripts/services/postgres.sh), never the password.
  bool Describes(const std::string& describe) const {
    return describe.starts_with("postgres host=127.0.0.1 port=") &&
           describe.find("dbname=postgres") != std::string::npos;
  }
  static std::string RawHex() { return "upper(encode(raw, 'hex'))"; }
  static std::string NotNullViolation(const std::string& table, const std::string& column) {
    return "null value in column \"" + column + "\" of relation \"" + table +
           "\" violates not-null constraint";
  }
  // Casts, and a ':' in a literal, an identifier, a dollar quote and comments: none binds.
  static void AddParameterForms(SqlSinkSetup* o) {
    o->init.push_back("CREATE TABLE IF NOT EXISTS notes(account INTEGER, note TEXT)");
    o->statements.push_back(
        "UPDATE accounts SET balance = balance - :amount + :amount::integer /* :x */ "
        "WHERE id = :account -- :y");
    o->statements.push_back("INSERT INTO \"notes\"(account, note) VALUES(:account, "
                            "'fee '':' || :fee::text || $$ :z$$)");
  }
  static std::vector<std::pair<std::string, std::vector<std::string>>> ParameterFormsEffects() {
    return {{"SELECT DISTINCT note FROM notes", {"fee ':1 :z"}}};
  }
  static constexpr const char* kTwoStatementsError =
      "cannot insert multiple commands into a prepared statement";
  static std::string SyntaxError(const std::string& token) {
    return "syntax error at or near \"" + token + "\"";
  }
  static std::vector<std::pair<SqlSinkSetup, std::string>> OpenErrors() {
    SqlSinkSetup no_unique;
    no_unique.init = {"CREATE TABLE IF NOT EXISTS kv2(k TEXT, v INTEGER)"};
    no_unique.mode = SinkMode::kUpsert;
    no_unique.table = "kv2";
    no_unique.key = {"k"};
    SqlSinkSetup positional = Bank();
    positional.statements = {"UPDATE accounts SET balance = $1 WHERE id = :account"};
    SqlSinkSetup no_table = Bank();
    no_table.statements = {"INSERT INTO nowhere VALUES(:a)"};
    return {{no_unique, "upsert into kv2: there is no unique or exclusion constraint matching "
                        "the ON CONFLICT specification"},
            {positional, "statement 1 (UPDATE accounts SET balance = $1 WHERE id = :account): at "
                         "byte 30: parameter $1 is positional"},
            {no_table, "relation \"nowhere\" does not exist"}};
  }

 private:
  std::string server_, schema_, conninfo_;
};

}  // namespace
}  // namespace onceflow::sink::testing

namespace onceflow::sink::testing::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, SinkContractTest, PostgresContractEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, SqlSinkContractTest, PostgresSqlEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, SqlSinkFailureContractTest, PostgresSqlEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, SqlSinkModesContractTest, PostgresSqlEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, SqlSinkAdditiveContractTest, PostgresSqlEnv);
}  // namespace onceflow::sink::testing::contract
