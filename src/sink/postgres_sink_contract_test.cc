// The sink contracts (sink_contract_test.h, sql_sink_contract_test.h) on the PostgreSQL sink, in
// a schema of each test's own on the test run's server.
#include "sink/postgres_sink.h"
#include "sink/sink_contract_test.h"
#include "sink/sql_sink_contract_test.h"
#include "sink/sql_sink_failure_contract_test.h"
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
    auto sink = MakePostgresSink(std::move(o));
    if (!sink.has_value()) {
      ADD_FAILURE() << sink.error().ToString();
      return nullptr;
    }
    if (Status s = (*sink)->Open(); !s.ok()) {
      ADD_FAILURE() << s.ToString();
      return nullptr;
    }
    return std::move(*sink);
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
    onceflow::testing::PgQuery(
        conninfo_, "INSERT INTO onceflow_progress VALUES('" + pipeline + "', " +
                       std::to_string(task) + ", " + std::to_string(batch) + ", " +
                       std::to_string(epoch) + ", '" + ranges + "', 0)");
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
    return MakePostgresSink(std::move(o));
  }
  std::unique_ptr<Sink> OpenSink(const SqlSinkSetup& setup) {
    auto sink = MakeSink(setup);
    if (!sink.has_value()) {
      ADD_FAILURE() << sink.error().ToString();
      return nullptr;
    }
    if (Status s = (*sink)->Open(); !s.ok()) {
      ADD_FAILURE() << s.ToString();
      return nullptr;
    }
    return std::move(*sink);
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

 private:
  std::string server_, schema_, conninfo_;
};

}  // namespace
}  // namespace onceflow::sink::testing

namespace onceflow::sink::testing::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, SinkContractTest, PostgresContractEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, SqlSinkContractTest, PostgresSqlEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, SqlSinkFailureContractTest, PostgresSqlEnv);
}  // namespace onceflow::sink::testing::contract
