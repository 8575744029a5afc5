// Whole-batch operators end to end on the embedded log and SQLite: MapBatch and its kin see a
// map task's rows at once with the batch's context, a failure fails the task attempt (retried,
// never doubled), and refused rows become dead letters.
#include "engine/batch_stages.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>

#include "engine/engine_test_util.h"
#include "onceflow/pipeline.h"

namespace onceflow::engine {
namespace {

using ::onceflow::testing::CheckLedger;
using ::onceflow::testing::ProduceTransfers;
using ::onceflow::testing::Transfer;
using testing::LedgerSink;

class BatchStagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/bank.db";
  }

  PipelineBuilder Ledger() {
    PipelineBuilder b("ledger");
    b.FromLog({.topic = "transfers"})
        .ToSqlite(LedgerSink(db_))
        .BatchInterval(std::chrono::milliseconds(1))
        .MaxRecordsPerPartition(100)
        .Speculation(false);
    return b;
  }

  Status RunToEnd(PipelineBuilder& b, PipelineStats* stats = nullptr) {
    return testing::RunToEnd(b, data_, stats);
  }

  log::testing::TempDir dir_;
  std::string data_, db_;
};

TEST(IdempotencyKeyTest, NamesPipelineBatchTaskAndRanges) {
  const std::vector<OffsetRange> ranges = {{PartitionId(0), Offset(0), Offset(10)},
                                           {PartitionId(1), Offset(5), Offset(7)}};
  const std::string key = IdempotencyKey("ledger", 1, BatchId(17), ranges);
  EXPECT_EQ(key.rfind("ledger.b17.t1.", 0), 0u) << key;
  EXPECT_EQ(key.size(), std::string("ledger.b17.t1.").size() + 16);
  EXPECT_EQ(key, IdempotencyKey("ledger", 1, BatchId(17), ranges));
  EXPECT_NE(key, IdempotencyKey("ledger", 0, BatchId(17), ranges));
  EXPECT_NE(key, IdempotencyKey("ledger", 1, BatchId(18), ranges));
  std::vector<OffsetRange> other = ranges;
  other[1].until = Offset(8);
  EXPECT_NE(key, IdempotencyKey("ledger", 1, BatchId(17), other));
  EXPECT_EQ(IdempotencyKey("ledger", -1, BatchId(3), ranges).rfind("ledger.b3.all.", 0), 0u);
}

TEST_F(BatchStagesTest, MapBatchSeesEachTasksRowsWithItsContext) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 1000, 40);
  std::mutex mu;
  std::map<std::string, int64_t> rows_per_key;  // idempotency key -> rows seen
  std::vector<std::string> problems;
  auto b = Ledger();
  b.MapBatch([&](std::vector<Row> rows, const BatchContext& ctx) -> Result<std::vector<Row>> {
    std::lock_guard lock(mu);
    rows_per_key[ctx.idempotency_key] += static_cast<int64_t>(rows.size());
    if (ctx.task < 0 || ctx.pipeline != "ledger" || ctx.batch_time_ms <= 0 ||
        ctx.idempotency_key != IdempotencyKey("ledger", ctx.task, ctx.batch_id, ctx.ranges)) {
      problems.push_back(ctx.idempotency_key);
    }
    // One task is one partition's range: its rows are exactly that range's records.
    for (const OffsetRange& r : ctx.ranges) {
      if (r.partition.value() == ctx.task && r.size() != static_cast<int64_t>(rows.size())) {
        problems.push_back("rows " + std::to_string(rows.size()) + " of " + ctx.idempotency_key);
      }
    }
    return rows;
  });
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(b, &stats).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
  EXPECT_TRUE(problems.empty()) << problems.front();
  int64_t total = 0;
  for (const auto& [key, n] : rows_per_key) total += n;
  EXPECT_EQ(total, 1000);  // one attempt per task: every record once
  EXPECT_GE(rows_per_key.size(), 1000u / (4 * 100));
}

TEST_F(BatchStagesTest, AFailedFirstAttemptIsRetriedWithTheSameKeyAndNoDuplicate) {
  auto transfers = ProduceTransfers(data_, "transfers", 3, 600, 30);
  std::mutex mu;
  std::set<std::string> failed, succeeded;
  auto b = Ledger();
  b.MaxTaskFailures(2).MapBatch(
      [&](std::vector<Row> rows, const BatchContext& ctx) -> Result<std::vector<Row>> {
        std::lock_guard lock(mu);
        if (failed.insert(ctx.idempotency_key).second) {
          throw std::runtime_error("first attempt of " + ctx.idempotency_key);
        }
        succeeded.insert(ctx.idempotency_key);
        return rows;
      });
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(b, &stats).ok());
  EXPECT_EQ(CheckLedger(db_, transfers), "");
  EXPECT_EQ(failed, succeeded);  // every task's retry saw the key of its failed attempt
  EXPECT_EQ(stats.task_failures, static_cast<int64_t>(failed.size()));
  EXPECT_EQ(stats.batch_retries, 0);
}

TEST_F(BatchStagesTest, AFunctionThatAlwaysFailsStopsTheRunNamingItAndCommitsNothing) {
  ProduceTransfers(data_, "transfers", 1, 100, 10);  // one task per batch: exact counts
  auto b = Ledger();
  b.MaxTaskFailures(2).MaxBatchFailures(2).FilterBatch(
      [](const std::vector<Row>&, const BatchContext&) -> Result<std::vector<bool>> {
        return Err(Status::InvalidArgument("no such account"));
      },
      "check_accounts");
  PipelineStats stats;
  Status s = RunToEnd(b, &stats);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("check_accounts (operator 1) failed: no such account"),
            std::string::npos)
      << s.ToString();
  EXPECT_EQ(stats.batches_committed, 0);
  EXPECT_EQ(stats.task_failures, 4);  // 2 attempts of the task in each of 2 batch attempts
  EXPECT_EQ(::onceflow::testing::SqliteQueryOne(db_, "SELECT count(*) FROM ledger"), "0");
}

TEST_F(BatchStagesTest, FilterFlatMapAndRecordOperatorsComposeAndKeepOffsets) {
  auto transfers = ProduceTransfers(data_, "transfers", 2, 400, 20);
  std::vector<Transfer> expected;
  for (const Transfer& t : transfers) {
    if (t.id % 2 == 0) expected.push_back(t);
  }
  auto b = Ledger();
  b.Where({"amount > 0"})
      .FilterBatch(
          [](const std::vector<Row>& rows, const BatchContext&) -> Result<std::vector<bool>> {
            std::vector<bool> keep;
            for (const Row& r : rows) keep.push_back(r.GetInt("id").value_or(1) % 2 == 0);
            return keep;
          })
      // Each row twice, once marked: the Where after it drops the marked copy.
      .FlatMapBatch(
          [](std::vector<Row> rows, const BatchContext&) -> Result<std::vector<std::vector<Row>>> {
            std::vector<std::vector<Row>> out;
            for (Row& r : rows) {
              Row copy = r;
              copy.Set("copy", true);
              r.Set("copy", false);
              out.push_back({std::move(r), std::move(copy)});
            }
            return out;
          })
      .Where({"copy == false"})
      .Select({"id", "from", "to", "amount"});
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(b, &stats).ok());
  EXPECT_EQ(CheckLedger(db_, expected), "");
  EXPECT_EQ(stats.rows_out, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(stats.dead_letters, 0);
}

TEST_F(BatchStagesTest, RejectedRowsAreDeadLettersNamingTheOperator) {
  ProduceTransfers(data_, "transfers", 2, 200, 20);
  auto b = Ledger();
  b.TransformBatch(
      [](std::vector<Row> rows, const BatchContext&) -> Result<BatchOutput> {
        BatchOutput out;
        for (size_t i = 0; i < rows.size(); ++i) {
          if (rows[i].GetInt("id").value_or(0) < 10) {
            out.rejected.push_back({i, rows[i].ToJson(), "field 'x': unsupported type"});
          } else {
            out.rows.push_back(std::move(rows[i]));
            out.from.push_back(i);
          }
        }
        return out;
      },
      "py_map");
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(b, &stats).ok());
  EXPECT_EQ(stats.dead_letters, 10);
  EXPECT_EQ(stats.rows_out, 190);
  EXPECT_EQ(::onceflow::testing::SqliteQueryOne(
                db_, "SELECT count(*) FROM onceflow_dead_letters WHERE error LIKE "
                     "'py_map: field ''x'': unsupported type%'"),
            "10");
  EXPECT_EQ(::onceflow::testing::SqliteQueryOne(db_, "SELECT count(*) FROM ledger"), "190");
}

TEST_F(BatchStagesTest, AnAggregateAfterABatchFunctionCombinesItsOutput) {
  ProduceTransfers(data_, "transfers", 2, 300, 5);
  const std::string db = dir_.path() + "/counts.db";
  PipelineBuilder b("counts");
  b.FromLog({.topic = "transfers"})
      .MaxRecordsPerPartition(50)
      .MapBatch([](std::vector<Row> rows, const BatchContext&) -> Result<std::vector<Row>> {
        for (Row& r : rows) r.Set("one", int64_t{1});
        return rows;
      })
      .Aggregate({"from"}, {{"n", "count"}, {"ones", "sum(one)"}})
      .ToSqlite({.path = db,
                 .init = {"CREATE TABLE IF NOT EXISTS c (\"from\" INTEGER PRIMARY KEY, n INTEGER, "
                          "ones INTEGER)"},
                 .mode = SinkMode::kUpsert,
                 .table = "c",
                 .key = {"from"}});
  ASSERT_TRUE(RunToEnd(b).ok());
  EXPECT_EQ(::onceflow::testing::SqliteQueryOne(db, "SELECT sum(n) FROM c"), "300");
  EXPECT_EQ(::onceflow::testing::SqliteQueryOne(db, "SELECT count(*) FROM c WHERE n != ones"), "0");
}

}  // namespace
}  // namespace onceflow::engine
