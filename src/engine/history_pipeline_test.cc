// The batch history the engine records, end to end on the embedded log and SQLite: one record
// per batch, exact counts, failed attempts and re-runs told apart from commits, and the record a
// crash lost written back at recovery.
#include <gtest/gtest.h>

#include <map>

#include "checkpoint/checkpoint.h"
#include "engine/engine_test_util.h"
#include "history/history_file.h"
#include "history/history_format.h"
#include "onceflow/batch_history.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow::engine {
namespace {

using ::onceflow::testing::CheckLedger;
using ::onceflow::testing::ProduceTransfers;
using testing::LedgerSink;

class HistoryPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/bank.db";
  }
  void TearDown() override { faults::DisarmAll(); }

  PipelineBuilder Ledger() {
    PipelineBuilder b("ledger");
    b.FromLog({.topic = "transfers"})
        .ToSqlite(LedgerSink(db_))
        .BatchInterval(std::chrono::milliseconds(1))
        .MaxRecordsPerPartition(50);
    return b;
  }
  Status RunToEnd(PipelineBuilder&& builder, PipelineStats* stats = nullptr) {
    return testing::RunToEnd(builder, data_, stats);
  }
  Status RunToEnd(PipelineBuilder& builder, PipelineStats* stats = nullptr) {
    return testing::RunToEnd(builder, data_, stats);
  }
  std::string CheckpointDir() const { return checkpoint::CheckpointDir(data_, "ledger"); }
  std::vector<BatchRecord> History() {
    Result<HistoryReadResult> r = ReadBatchHistory(CheckpointDir());
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    if (!r.has_value()) return {};
    EXPECT_EQ(r->warning, "");
    return r->batches;
  }
  int64_t LedgerRows() {
    return ::onceflow::testing::SqliteInts(db_, "SELECT count(*) FROM ledger").at(0).at(0);
  }

  log::testing::TempDir dir_;
  std::string data_, db_;
};

// The committed records: each batch id once, contiguous from 0; their ranges tile each
// partition from 0 on without gap or overlap, up to `total` records in all. Returns the sum of
// their records_in.
int64_t CheckCommitted(const std::vector<BatchRecord>& history, int64_t partitions, int64_t total) {
  std::vector<const BatchRecord*> committed;
  for (const BatchRecord& b : history) {
    if (b.outcome == "committed") committed.push_back(&b);
  }
  std::vector<int64_t> next(static_cast<size_t>(partitions), 0);
  int64_t records = 0;
  for (size_t i = 0; i < committed.size(); ++i) {
    const BatchRecord& b = *committed[i];
    EXPECT_EQ(b.batch_id, static_cast<int64_t>(i));
    records += b.records_in;
    int64_t ranged = 0;
    for (const PartitionProgress& p : b.partitions) {
      EXPECT_EQ(p.from, next.at(static_cast<size_t>(p.partition))) << "batch " << b.batch_id;
      next.at(static_cast<size_t>(p.partition)) = p.until;
      ranged += p.until - p.from;
    }
    EXPECT_EQ(ranged, b.records_in) << "batch " << b.batch_id;
  }
  int64_t ends = 0;
  for (int64_t until : next) ends += until;
  EXPECT_EQ(ends, total);
  return records;
}

TEST_F(HistoryPipelineTest, EveryBatchIsRecordedOnceWithExactCountsAndItsSteps) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 2000, 50);
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(Ledger(), &stats).ok());
  ASSERT_EQ(CheckLedger(db_, transfers), "");
  std::vector<BatchRecord> history = History();
  ASSERT_EQ(static_cast<int64_t>(history.size()), stats.batches_committed);
  EXPECT_EQ(CheckCommitted(history, 4, 2000), 2000);
  int64_t rows_out = 0;
  for (const BatchRecord& b : history) {
    SCOPED_TRACE("batch " + std::to_string(b.batch_id));
    EXPECT_EQ(b.outcome, "committed");
    EXPECT_FALSE(b.replayed);
    EXPECT_FALSE(b.reconstructed);
    EXPECT_EQ(b.error, "");
    rows_out += b.rows_out;
    EXPECT_GT(b.epoch, 0);
    EXPECT_GT(b.phases.intent_us, 0);
    EXPECT_GT(b.phases.compute_us, 0);
    EXPECT_GT(b.phases.sink_commit_us, 0);
    EXPECT_GT(b.phases.commit_record_us, 0);
    EXPECT_EQ(b.phases.state_commit_us, 0);  // no keyed state (the step does nothing)
    EXPECT_LE(b.trigger_time_ms, b.start_time_ms);
    EXPECT_LE(b.start_time_ms, b.end_time_ms);
    EXPECT_EQ(b.processing_ms, b.end_time_ms - b.start_time_ms);
    EXPECT_EQ(b.total_delay_ms, b.scheduling_delay_ms + b.processing_ms);
    // The producer stamped the records before the run: visible after, in order.
    EXPECT_GE(b.visibility_p50_ms, 0);
    EXPECT_LE(b.visibility_p50_ms, b.visibility_p99_ms);
    EXPECT_LE(b.visibility_p99_ms, b.visibility_max_ms);
    // One winning attempt per partition read; every attempt's partition is one of them.
    int64_t won = 0, read = 0;
    for (const PartitionProgress& p : b.partitions) {
      if (p.until > p.from) ++read;
      EXPECT_GE(p.end_offset, p.until);
      EXPECT_EQ(p.lag_records, p.end_offset - p.until);
      if (p.lag_records == 0) {
        EXPECT_EQ(p.drain_eta_seconds, 0);
        EXPECT_EQ(p.lag_seconds, 0);
      } else if (p.until > p.from) {
        // The records were produced before the run: their age is known and not negative.
        EXPECT_GE(p.lag_seconds, 0);
      }
    }
    for (const TaskAttemptRecord& t : b.tasks) {
      if (t.outcome == "won") ++won;
      EXPECT_GE(t.partition, 0);
      EXPECT_GE(t.duration_us, 0);
    }
    EXPECT_EQ(won, read);
    EXPECT_EQ(b.task_attempts, static_cast<int64_t>(b.tasks.size()));
  }
  EXPECT_EQ(rows_out, LedgerRows());
  EXPECT_EQ(rows_out, 2000);
  // The first batch saw the whole backlog: its end is where the last batch ended.
  EXPECT_EQ(history.front().partitions.at(0).end_offset, history.back().partitions.at(0).until);

  // A later run continues the history where it stopped.
  auto more = ProduceTransfers(data_, "transfers", 4, 400, 50, /*seed=*/2, /*first_id=*/2000);
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  history = History();
  EXPECT_EQ(CheckCommitted(history, 4, 2400), 2400);
}

TEST_F(HistoryPipelineTest, FailedTaskAttemptsAreRecordedWithTheirErrors) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 1200, 30);
  ASSERT_TRUE(faults::Arm("task=throw@0.3").ok());
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(Ledger().MaxTaskFailures(30), &stats).ok());
  ASSERT_EQ(CheckLedger(db_, transfers), "");
  ASSERT_GT(stats.task_failures, 0);
  std::vector<BatchRecord> history = History();
  EXPECT_EQ(CheckCommitted(history, 4, 1200), 1200);
  int64_t failures = 0, attempts = 0;
  for (const BatchRecord& b : history) {
    failures += b.task_failures;
    attempts += b.task_attempts;
    for (const TaskAttemptRecord& t : b.tasks) {
      if (t.outcome == "failed") {
        EXPECT_NE(t.error.find("task"), std::string::npos) << t.error;
      }
      if (t.outcome == "won") {
        EXPECT_EQ(t.error, "");
      }
    }
  }
  EXPECT_EQ(failures, stats.task_failures);
  EXPECT_EQ(attempts, stats.task_attempts);
}

TEST_F(HistoryPipelineTest, SpeculativeTwinsAreRecordedAsAttemptsWithOneWinnerPerTask) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 1200, 30);
  // 30% of attempts slow: a batch with a slow task (which gets a twin) is all but certain.
  ASSERT_TRUE(faults::Arm("task=slow:150ms@0.3").ok());
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(Ledger().MaxRecordsPerPartition(40).ExecutorThreads(4).Speculation(
                           true, 2.0, std::chrono::milliseconds(20)),
                       &stats)
                  .ok());
  ASSERT_EQ(CheckLedger(db_, transfers), "");
  ASSERT_GT(stats.speculative_attempts, 0);
  std::vector<BatchRecord> history = History();
  EXPECT_EQ(CheckCommitted(history, 4, 1200), 1200);
  int64_t speculative = 0, attempts = 0;
  for (const BatchRecord& b : history) {
    attempts += b.task_attempts;
    speculative += b.speculative_attempts;
    EXPECT_EQ(b.outcome, "committed") << "batch " << b.batch_id << ": " << b.error;
    int64_t twins = 0;
    std::map<int32_t, int> winners;  // task -> attempts that won it (every task has one)
    for (const TaskAttemptRecord& t : b.tasks) {
      if (t.speculative) ++twins;
      winners[t.task] += t.outcome == "won" ? 1 : 0;
      EXPECT_TRUE(t.outcome == "won" || t.outcome == "speculative_lost")
          << "batch " << b.batch_id << " task " << t.task << ": " << t.outcome;
    }
    EXPECT_EQ(twins, b.speculative_attempts) << "batch " << b.batch_id;
    EXPECT_EQ(static_cast<int64_t>(b.tasks.size()), b.task_attempts) << "batch " << b.batch_id;
    for (const auto& [task, won] : winners) {
      EXPECT_EQ(won, 1) << "batch " << b.batch_id << " task " << task;
    }
  }
  EXPECT_EQ(speculative, stats.speculative_attempts);
  EXPECT_EQ(attempts, stats.task_attempts);
}

TEST_F(HistoryPipelineTest, ABatchRetryIsAFailedAttemptThenOneCommit) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 800, 30);
  // The third batch's sink commit fails once (retryable): the batch is run again.
  ASSERT_TRUE(faults::Arm("before_sink_commit=throw#3").ok());
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(Ledger(), &stats).ok());
  ASSERT_EQ(CheckLedger(db_, transfers), "");
  ASSERT_EQ(stats.batch_retries, 1);
  std::vector<BatchRecord> history = History();
  EXPECT_EQ(CheckCommitted(history, 4, 800), 800);
  std::vector<const BatchRecord*> failed;
  for (const BatchRecord& b : history) {
    if (b.outcome != "committed") failed.push_back(&b);
  }
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]->outcome, "failed");
  EXPECT_EQ(failed[0]->batch_id, 2);
  EXPECT_NE(failed[0]->error.find("before_sink_commit"), std::string::npos) << failed[0]->error;
  EXPECT_EQ(failed[0]->retries, 0);
  EXPECT_EQ(failed[0]->phases.commit_record_us, 0);
  // The commit of batch 2 follows its failed attempt, as its second attempt.
  const BatchRecord& next = *(failed[0] + 1);
  EXPECT_EQ(next.batch_id, 2);
  EXPECT_EQ(next.outcome, "committed");
  EXPECT_EQ(next.retries, 1);
}

TEST_F(HistoryPipelineTest, ABatchReRunAtRecoveryIsMarkedReplayed) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 800, 30);
  // The third batch's commit record cannot be written: the run stops with batch 2 unfinished.
  ASSERT_TRUE(faults::Arm("before_commit_log=eio#3").ok());
  EXPECT_FALSE(RunToEnd(Ledger()).ok());
  faults::DisarmAll();
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  ASSERT_EQ(CheckLedger(db_, transfers), "");
  std::vector<BatchRecord> history = History();
  EXPECT_EQ(CheckCommitted(history, 4, 800), 800);
  std::map<int64_t, std::vector<const BatchRecord*>> by_id;
  for (const BatchRecord& b : history) by_id[b.batch_id].push_back(&b);
  ASSERT_EQ(by_id[2].size(), 2u);
  EXPECT_EQ(by_id[2][0]->outcome, "failed");
  EXPECT_GT(by_id[2][0]->phases.sink_commit_us, 0);
  EXPECT_EQ(by_id[2][1]->outcome, "committed");
  EXPECT_TRUE(by_id[2][1]->replayed);
  EXPECT_GT(by_id[2][1]->epoch, by_id[2][0]->epoch);
  for (const auto& [id, records] : by_id) {
    if (id != 2) {
      EXPECT_EQ(records.size(), 1u) << "batch " << id;
    }
  }
}

TEST_F(HistoryPipelineTest, ARecordLostBetweenCommitAndHistoryIsWrittenAtRecovery) {
  auto transfers = ProduceTransfers(data_, "transfers", 2, 400, 30);
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  std::vector<BatchRecord> before = History();
  ASSERT_GE(before.size(), 2u);
  // Drop the last record, as a crash after the commit record and before the history's write.
  const std::string hdir = history::HistoryDir(CheckpointDir());
  Result<std::vector<std::string>> names = ListDir(hdir);
  ASSERT_TRUE(names.has_value() && !names->empty());
  const std::string file = JoinPath(hdir, names->back());
  Result<std::string> bytes = ReadFileToString(file);
  ASSERT_TRUE(bytes.has_value());
  history::HistoryFileScan scan = history::ScanHistoryFile(*bytes);
  ASSERT_TRUE(WriteFileAtomically(file, bytes->substr(0, scan.entries.back().position)).ok());
  ASSERT_EQ(History().size(), before.size() - 1);
  // The next run (nothing new to read) writes it from the batch's intent.
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  std::vector<BatchRecord> after = History();
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(CheckCommitted(after, 2, 400), 400);
  EXPECT_TRUE(after.back().reconstructed);
  EXPECT_EQ(after.back().records_in, before.back().records_in);
  EXPECT_EQ(after.back().rows_out, -1);
  // And only once: another run adds nothing.
  ASSERT_TRUE(RunToEnd(Ledger()).ok());
  EXPECT_EQ(History().size(), before.size());
}

TEST_F(HistoryPipelineTest, HistoryOffWritesNothingAndABoundKeepsTheLast) {
  auto transfers = ProduceTransfers(data_, "transfers", 4, 800, 30);
  ASSERT_TRUE(RunToEnd(Ledger().History(false)).ok());
  EXPECT_FALSE(PathExists(history::HistoryDir(CheckpointDir())));
  auto more = ProduceTransfers(data_, "transfers", 4, 800, 30, /*seed=*/2, /*first_id=*/800);
  PipelineStats stats;
  ASSERT_TRUE(RunToEnd(Ledger().History(true, 3), &stats).ok());
  std::vector<BatchRecord> history = History();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history.back().batch_id, stats.last_batch.value());
}

}  // namespace
}  // namespace onceflow::engine
