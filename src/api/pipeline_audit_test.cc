// Pipeline::Status and Pipeline::Verify as a library user calls them: a healthy pipeline
// verifies; a sink that lost a progress row, or a source whose committed record was rewritten,
// fails with the line `onceflow verify` prints (and `run` refuses with).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "engine/engine_test_util.h"
#include "log/log_test_util.h"
#include "onceflow/pipeline.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow {
namespace {

using engine::testing::LedgerSink;
using ::onceflow::testing::ProduceTransfers;
constexpr auto Query = ::onceflow::testing::SqliteInts;

constexpr const char* kReset = "onceflow reset ledger.toml --yes";

class PipelineAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/bank.db";
    options_.reset_command = kReset;
  }
  void TearDown() override { faults::DisarmAll(); }

  std::unique_ptr<Pipeline> Ledger(int max_batch_failures = 3) {
    auto p = PipelineBuilder("ledger")
                 .FromLog({.topic = "transfers"})
                 .ToSqlite(LedgerSink(db_))
                 .BatchInterval(std::chrono::milliseconds(1))
                 .MaxRecordsPerPartition(100)
                 .MaxBatchFailures(max_batch_failures)
                 .Build();
    EXPECT_TRUE(p.has_value()) << p.error().ToString();
    return std::move(*p);
  }

  onceflow::Status RunToEnd(Pipeline* p) {
    RunOptions o;
    o.data_dir = data_;
    o.until_caught_up = true;
    o.reset_command = kReset;
    o.on_log = [](const std::string&) {};
    return p->Run(o);
  }

  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
    sqlite3_free(error);
    sqlite3_close(db);
  }

  ::onceflow::testing::TempDir dir_;
  std::string data_, db_;
  AuditOptions options_;
};

TEST_F(PipelineAuditTest, NothingRunIsStatusWithoutCheckpointAndVerifiesOk) {
  ProduceTransfers(data_, "transfers", 4, 1000, 50);
  auto p = Ledger();
  auto status = p->Status(data_, options_);
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_EQ(status->pipeline, "ledger");
  EXPECT_EQ(status->checkpoint_dir, "");
  EXPECT_FALSE(status->last_intent.has_value());
  EXPECT_TRUE(status->refusal.ok());
  ASSERT_EQ(status->partitions.size(), 4u);
  for (const PartitionStatus& part : status->partitions) EXPECT_FALSE(part.committed);
  EXPECT_EQ(status->total_end, 1000);
  EXPECT_EQ(status->total_lag, 1000);
  EXPECT_TRUE(status->sink_progress.empty());
  EXPECT_FALSE(std::filesystem::exists(db_)) << "a look must not create the sink's database";

  auto report = p->Verify(data_, options_);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_TRUE(report->ok()) << report->first_violation();
  EXPECT_EQ(report->progress_rows, 0);
}

TEST_F(PipelineAuditTest, HealthyPipelineHasNoLagAndVerifies) {
  ProduceTransfers(data_, "transfers", 4, 2000, 50);
  auto p = Ledger();
  ASSERT_TRUE(RunToEnd(p.get()).ok());

  auto status = p->Status(data_, options_);
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_TRUE(status->refusal.ok()) << status->refusal.ToString();
  EXPECT_EQ(status->checkpoint_dir, data_ + "/pipelines/ledger");
  ASSERT_TRUE(status->last_intent.has_value());
  ASSERT_TRUE(status->last_committed.has_value());
  EXPECT_EQ(*status->last_committed, *status->last_intent);
  EXPECT_FALSE(status->unfinished.has_value());
  EXPECT_EQ(status->source_partitions, 4);
  ASSERT_EQ(status->partitions.size(), 4u);
  int64_t committed = 0;
  for (const PartitionStatus& part : status->partitions) {
    ASSERT_TRUE(part.committed.has_value());
    EXPECT_EQ(*part.committed, part.end);
    EXPECT_EQ(part.lag, 0);
    committed += part.committed->value();
  }
  EXPECT_EQ(committed, 2000);
  EXPECT_EQ(status->total_committed, 2000);
  EXPECT_EQ(status->total_end, 2000);
  EXPECT_EQ(status->total_lag, 0);
  // The sink's progress rows: one per partition (map-only), each ending at the committed offset.
  EXPECT_TRUE(status->sink_error.ok()) << status->sink_error.ToString();
  ASSERT_EQ(status->sink_progress.size(), 4u);
  for (const SinkTaskProgress& row : status->sink_progress) {
    ASSERT_EQ(row.ranges.size(), 1u);
    EXPECT_EQ(row.ranges[0].until, status->partitions[row.ranges[0].partition.value()].end);
  }

  auto report = p->Verify(data_, options_);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_TRUE(report->ok()) << report->first_violation();
  EXPECT_EQ(report->first_violation(), "");
  EXPECT_EQ(report->progress_rows, 4);
  EXPECT_EQ(report->partitions_checked, 4);
  EXPECT_EQ(report->unfinished, VerifyReport::Unfinished::kNone);
}

TEST_F(PipelineAuditTest, BatchStoppedAfterItsSinkCommitIsUnfinishedAndVerifies) {
  ProduceTransfers(data_, "transfers", 2, 1000, 50);
  // The second batch fails after its sink commit, and the run gives up: its intent and its
  // output are durable, its commit record is not.
  ASSERT_TRUE(faults::Arm("after_sink_commit=throw#2").ok());
  auto p = Ledger(/*max_batch_failures=*/1);
  ASSERT_FALSE(RunToEnd(p.get()).ok());
  faults::DisarmAll();

  auto status = p->Status(data_, options_);
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  ASSERT_TRUE(status->unfinished.has_value());
  EXPECT_EQ(status->unfinished->batch, BatchId(1));
  EXPECT_EQ(status->last_intent, BatchId(1));
  EXPECT_EQ(status->last_committed, BatchId(0));
  ASSERT_EQ(status->unfinished->ranges.size(), 2u);
  int64_t committed = 0;
  for (const OffsetRange& r : status->unfinished->ranges) {
    EXPECT_EQ(status->partitions[r.partition.value()].committed, r.from);
    committed += r.from.value();
  }
  EXPECT_EQ(status->total_committed, committed);
  EXPECT_EQ(status->total_lag, 1000 - committed);

  auto report = p->Verify(data_, options_);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_TRUE(report->ok()) << report->first_violation();
  EXPECT_EQ(report->unfinished, VerifyReport::Unfinished::kAfter);

  // The restart re-runs the batch; the sink skips it; all is committed once.
  auto again = Ledger();
  ASSERT_TRUE(RunToEnd(again.get()).ok());
  auto done = again->Status(data_, options_);
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->unfinished.has_value());
  EXPECT_EQ(done->total_lag, 0);
  EXPECT_EQ(Query(db_, "SELECT COUNT(*), COUNT(DISTINCT id) FROM ledger")[0],
            (std::vector<int64_t>{1000, 1000}));
}

TEST_F(PipelineAuditTest, SinkThatLostAProgressRowFailsNamingTheGap) {
  ProduceTransfers(data_, "transfers", 4, 2000, 50);
  auto p = Ledger();
  ASSERT_TRUE(RunToEnd(p.get()).ok());
  auto status = p->Status(data_, options_);
  ASSERT_TRUE(status.has_value());
  const int64_t end2 = status->partitions[2].end.value();
  ASSERT_GT(end2, 0);

  Exec("DELETE FROM onceflow_progress WHERE pipeline = 'ledger' AND task = 2");
  auto report = p->Verify(data_, options_);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_FALSE(report->ok());
  ASSERT_EQ(report->violations.size(), 1u);
  EXPECT_EQ(report->first_violation(),
            "partition 2: gap: the checkpoint has committed its offsets up to " +
                std::to_string(end2) +
                " but no progress row in the sink covers it: the output of [0, " +
                std::to_string(end2) + ") is missing");
  EXPECT_EQ(report->progress_rows, 3);
}

TEST_F(PipelineAuditTest, SourceWithARewrittenCommittedRecordIsRefusedAsRunRefusesIt) {
  ProduceTransfers(data_, "transfers", 4, 1000, 50);
  auto p = Ledger();
  ASSERT_TRUE(RunToEnd(p.get()).ok());
  // The same topic (same id), longer than before but with other records at the same offsets.
  const std::string topic_dir = data_ + "/topics/transfers";
  auto meta = ReadFileToString(topic_dir + "/topic.meta");
  ASSERT_TRUE(meta.has_value());
  std::filesystem::remove_all(topic_dir);
  ProduceTransfers(data_, "transfers", 4, 4000, 50, /*seed=*/12345);
  ASSERT_TRUE(WriteFileAtomically(topic_dir + "/topic.meta", *meta).ok());

  auto report = p->Verify(data_, options_);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  ASSERT_FALSE(report->ok());
  const std::string line = report->first_violation();
  EXPECT_EQ(line.rfind("log topic 'transfers' partition 0: the record at offset ", 0), 0u) << line;
  EXPECT_NE(line.find("the last one the pipeline committed, was rewritten"), std::string::npos)
      << line;
  EXPECT_NE(line.find("onceflow reset ledger.toml --accept-loss --yes"), std::string::npos) << line;

  // Status reports the same refusal, and no lag; Run refuses with the same line.
  auto status = p->Status(data_, options_);
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_TRUE(status->refusal.IsCorruption()) << status->refusal.ToString();
  EXPECT_EQ(status->refusal.message(), line);
  EXPECT_TRUE(status->partitions.empty());
  onceflow::Status run = RunToEnd(p.get());
  EXPECT_FALSE(run.ok());
  EXPECT_NE(run.message().find(line), std::string::npos) << run.message();
}

}  // namespace
}  // namespace onceflow
