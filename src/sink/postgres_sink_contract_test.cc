// The sink contract (sink_contract_test.h) on the PostgreSQL sink, in a schema of each test's
// own on the test run's server.
#include "sink/postgres_sink.h"
#include "sink/postgres_test_util.h"
#include "sink/sink_contract_test.h"

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

}  // namespace
}  // namespace onceflow::sink::testing

namespace onceflow::sink::testing::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, SinkContractTest, PostgresContractEnv);
}  // namespace onceflow::sink::testing::contract
