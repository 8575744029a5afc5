// PipelineBuilder end to end against the real services: a pipeline built in code with
// FromKafka (direct and group assignment), ToPostgres or ToKafka delivers every record exactly
// once. Skipped without ONCEFLOW_TEST_POSTGRES / ONCEFLOW_TEST_KAFKA (failed instead when
// ONCEFLOW_REQUIRE_SERVICES=1), as the other service tests.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"
#include "log/log_test_util.h"
#include "onceflow/pipeline.h"
#include "testing/kafka.h"
#include "testing/postgres.h"
#include "testing/sqlite_query.h"

namespace onceflow::engine {
namespace {

using ::onceflow::testing::ProduceTransfers;
constexpr auto Query = ::onceflow::testing::SqliteInts;
using ::onceflow::testing::Transfer;

class PipelineBuilderServicesTest : public ::testing::Test {
 protected:
  void SetUp() override { data_ = dir_.path() + "/data"; }

  // Builds and runs `b` until it has committed everything its source held.
  Status RunToEnd(PipelineBuilder& b, PipelineStats* stats = nullptr) {
    return testing::RunToEnd(b, data_, stats);
  }

  log::testing::TempDir dir_;
  std::string data_;
};

TEST_F(PipelineBuilderServicesTest, ToPostgresCommitsEveryRowOnce) {
  ONCEFLOW_REQUIRE_POSTGRES();
  const std::string schema = onceflow::testing::UniqueName("builder");
  const std::string conninfo =
      onceflow::testing::WithSchema(onceflow::testing::TestPostgres(), schema);
  const std::vector<Transfer> transfers = ProduceTransfers(data_, "transfers", 4, 400, 20);
  int64_t total = 0;
  for (const Transfer& t : transfers) total += t.amount;
  auto build = [&] {
    PipelineBuilder b("builder-pg");
    b.FromLog({.topic = "transfers"})
        .Rename({{"from", "src"}, {"to", "dst"}})
        .ToPostgres({.conninfo = conninfo,
                     .init = {"CREATE TABLE IF NOT EXISTS ledger(id BIGINT PRIMARY KEY, src "
                              "BIGINT, dst BIGINT, amount BIGINT)"},
                     .mode = SinkMode::kAppend,
                     .table = "ledger"})
        .BatchInterval(std::chrono::milliseconds(1))
        .MaxRecordsPerPartition(40);
    return b;
  };
  PipelineBuilder first = build();
  ASSERT_TRUE(RunToEnd(first).ok());
  const std::string count = "SELECT count(*), count(DISTINCT id), sum(amount) FROM ledger";
  EXPECT_EQ(onceflow::testing::PgQuery(conninfo, count),
            (std::vector<std::string>{"400|400|" + std::to_string(total)}));
  // Run again: everything is committed, nothing is written twice.
  PipelineBuilder again = build();
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(again, &stats).ok());
  EXPECT_EQ(stats.rows_out, 0);
  EXPECT_EQ(onceflow::testing::PgQuery(conninfo, count),
            (std::vector<std::string>{"400|400|" + std::to_string(total)}));
  onceflow::testing::PgQuery(onceflow::testing::TestPostgres(),
                             "DROP SCHEMA " + schema + " CASCADE");
}

TEST_F(PipelineBuilderServicesTest, ToKafkaWritesEveryRowOnce) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string out = ::onceflow::testing::UniqueTopic("builder-out");
  ASSERT_TRUE(::onceflow::testing::CreateTestTopic(bootstrap, out, 2).ok());
  const std::vector<Transfer> transfers = ProduceTransfers(data_, "transfers", 3, 300, 20);
  // The progress markers of the shared broker are keyed by pipeline: a name of its own.
  PipelineBuilder b(::onceflow::testing::UniqueTopic("builder-kafka"));
  b.FromLog({.topic = "transfers"})
      .Select({"id", "amount"})
      .ToKafka({.bootstrap = bootstrap, .topic = out, .key_field = "id"})
      .BatchInterval(std::chrono::milliseconds(1))
      .MaxRecordsPerPartition(40);
  ASSERT_TRUE(RunToEnd(b).ok());
  Result<std::vector<::onceflow::testing::ConsumedRecord>> records =
      ::onceflow::testing::ReadCommitted(bootstrap, out);
  ASSERT_TRUE(records.has_value()) << records.error().ToString();
  EXPECT_EQ(records->size(), transfers.size());
  std::set<std::string> keys;
  for (const auto& r : *records) keys.insert(r.key);
  EXPECT_EQ(keys.size(), transfers.size());
  for (const Transfer& t : transfers) EXPECT_EQ(keys.count(std::to_string(t.id)), 1u) << t.id;
}

TEST_F(PipelineBuilderServicesTest, FromKafkaReadsEveryRecordOnceDirectAndByGroup) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string in = ::onceflow::testing::UniqueTopic("builder-in");
  ASSERT_TRUE(::onceflow::testing::CreateTestTopic(bootstrap, in, 3).ok());
  Result<::onceflow::testing::TestProducer> producer =
      ::onceflow::testing::TestProducer::Make(bootstrap);
  ASSERT_TRUE(producer.has_value()) << producer.error().ToString();
  constexpr int kRecords = 300;
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(
        producer
            ->Send(in, i % 3,
                   "{\"id\":" + std::to_string(i) + ",\"amount\":" + std::to_string(i % 7) + "}")
            .ok());
  }
  ASSERT_TRUE(producer->Flush().ok());
  for (KafkaAssignment assign : {KafkaAssignment::kAll, KafkaAssignment::kGroup}) {
    const bool group = assign == KafkaAssignment::kGroup;
    SCOPED_TRACE(group ? "group" : "direct");
    const std::string db = dir_.path() + (group ? "/group.db" : "/direct.db");
    PipelineBuilder b(::onceflow::testing::UniqueTopic(group ? "builder-group" : "builder-direct"));
    b.FromKafka({.bootstrap = bootstrap,
                 .topic = in,
                 .assign = assign,
                 .session_timeout = std::chrono::milliseconds(6000)})
        .Where({"amount >= 0"})
        .ToSqlite({.path = db,
                   .init = {"CREATE TABLE IF NOT EXISTS t(id INTEGER, amount INTEGER)"},
                   .table = "t"})
        .BatchInterval(std::chrono::milliseconds(1))
        .MaxRecordsPerPartition(50);
    Status s = RunToEnd(b);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(Query(db, "SELECT count(*), count(DISTINCT id), sum(amount) FROM t"),
              (std::vector<std::vector<int64_t>>{{kRecords, kRecords, 897}}));
  }
}

}  // namespace
}  // namespace onceflow::engine
