// The commit contract of the transactional SQL sinks under failure, run against SQLite and
// PostgreSQL like sql_sink_contract_test.h (same environments): a fault point that throws before
// the commit writes nothing and the retry commits once, one after the commit keeps everything and
// the retry is already committed, a damaged progress row is corruption, four tasks committing at
// once (each batch twice) apply every row once. Crashes (the process exits at a fault point) are
// in the sinks' own *_failure_test.cc: a fork per point.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "sink/sql_sink_contract_test.h"

namespace onceflow::sink::testing::contract {

template <typename Env>
class SqlSinkFailureContractTest : public SqlSinkContractTest<Env> {
 protected:
  // A fault point that throws before the commit: nothing of the batch is written, the error is
  // retryable and names the point, and the retry commits the batch once.
  void ThrowBeforeTheCommit(const std::string& point);
};

TYPED_TEST_SUITE_P(SqlSinkFailureContractTest);

template <typename Env>
void SqlSinkFailureContractTest<Env>::ThrowBeforeTheCommit(const std::string& point) {
  auto sink = this->OpenSink(Env::Deposits());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> b0 = this->Deposits(10, 0);
  const std::vector<SinkRow> b1 = this->Deposits(10, 10);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 10)}, b0)),
            CommitOutcome::kCommitted);

  ASSERT_TRUE(faults::Arm(point + "=throw").ok());
  const TaskCommit t1 = Task("p", 0, 1, 1, {R(0, 10, 20)}, b1);
  auto failed = CommitOne(sink.get(), t1);
  ASSERT_FALSE(failed.has_value());
  EXPECT_TRUE(failed.error().retryable());
  EXPECT_NE(failed.error().message().find(point), std::string::npos);
  EXPECT_EQ(this->Balance(), "10");
  EXPECT_EQ(this->LedgerRows(), "10");
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:0:1:0:0-10"});

  faults::DisarmAll();
  EXPECT_EQ(CommitOne(sink.get(), t1), CommitOutcome::kCommitted);
  EXPECT_EQ(CommitOne(sink.get(), t1), CommitOutcome::kAlreadyCommitted);
  EXPECT_EQ(this->Balance(), "20");
  EXPECT_EQ(this->LedgerRows(), "20");
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:1:1:0:10-20"});
}

TYPED_TEST_P(SqlSinkFailureContractTest, ThrowAtMidSinkWriteWritesNothingAndARetryCommits) {
  this->ThrowBeforeTheCommit("mid_sink_write");
}

TYPED_TEST_P(SqlSinkFailureContractTest, ThrowBeforeSinkCommitWritesNothingAndARetryCommits) {
  this->ThrowBeforeTheCommit("before_sink_commit");
}

TYPED_TEST_P(SqlSinkFailureContractTest,
             ThrowAfterCommitKeepsTheDataAndTheRetryIsAlreadyCommitted) {
  auto sink = this->OpenSink(TypeParam::Deposits());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> b0 = this->Deposits(10, 0);
  const TaskCommit t0 = Task("p", 0, 0, 1, {R(0, 0, 10)}, b0);
  ASSERT_TRUE(faults::Arm("after_sink_commit=throw").ok());
  auto failed = CommitOne(sink.get(), t0);
  ASSERT_FALSE(failed.has_value());
  EXPECT_TRUE(failed.error().retryable());
  EXPECT_EQ(this->Balance(), "10");
  EXPECT_EQ(this->Progress(), std::vector<std::string>{"0:0:1:0:0-10"});

  faults::DisarmAll();
  EXPECT_EQ(CommitOne(sink.get(), t0), CommitOutcome::kAlreadyCommitted);
  EXPECT_EQ(this->Balance(), "10");
  EXPECT_EQ(this->LedgerRows(), "10");
}

TYPED_TEST_P(SqlSinkFailureContractTest, UnreadableProgressRowIsCorruption) {
  auto sink = this->OpenSink(TypeParam::Deposits());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> b0 = this->Deposits(2, 0);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 4, 0, 1, {R(0, 0, 2)}, b0)), CommitOutcome::kCommitted);
  this->env_.Exec("UPDATE onceflow_progress SET ranges = '0:2-x'");

  auto progress = sink->ReadProgress("p");
  ASSERT_FALSE(progress.has_value());
  EXPECT_TRUE(progress.error().IsCorruption()) << progress.error().ToString();
  EXPECT_NE(progress.error().message().find("the progress row of pipeline 'p' task 4: bad "
                                            "ranges '0:2-x'"),
            std::string::npos)
      << progress.error().message();
  const std::vector<SinkRow> b1 = this->Deposits(2, 2);
  auto outcome = CommitOne(sink.get(), Task("p", 4, 1, 1, {R(0, 2, 4)}, b1));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_TRUE(outcome.error().IsCorruption());
  EXPECT_EQ(this->Balance(), "2");
}

TYPED_TEST_P(SqlSinkFailureContractTest, ConcurrentCommitsOfFourTasksApplyEveryRowOnce) {
  SqlSinkSetup o = TypeParam::Deposits();
  o.init.push_back("CREATE UNIQUE INDEX IF NOT EXISTS ledger_once ON ledger(account, pad)");
  auto sink = this->OpenSink(o);
  ASSERT_NE(sink, nullptr);
  constexpr int kTasks = 4;
  constexpr int kBatches = TypeParam::kConcurrentBatches;
  constexpr int kRowsPerBatch = 40;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kTasks);
  for (int task = 0; task < kTasks; ++task) {
    threads.emplace_back([&, task] {
      for (int batch = 0; batch < kBatches; ++batch) {
        std::vector<SinkRow> rows;
        for (int i = 0; i < kRowsPerBatch; ++i) {
          const int64_t offset = int64_t{batch} * kRowsPerBatch + i;
          rows.push_back({Row{{"account", int64_t{1}},
                              {"amount", int64_t{1}},
                              {"pad", std::to_string(task) + "/" + std::to_string(offset)}},
                          PartitionId(task), Offset(offset)});
        }
        const TaskCommit t = Task(
            "p", task, batch, 1,
            {R(task, int64_t{batch} * kRowsPerBatch, int64_t{batch + 1} * kRowsPerBatch)}, rows);
        // Every batch twice, as a speculative twin would.
        for (CommitOutcome expected :
             {CommitOutcome::kCommitted, CommitOutcome::kAlreadyCommitted}) {
          auto outcome = CommitOne(sink.get(), t);
          if (!outcome.has_value()) {
            errors[task] = outcome.error().ToString();
            return;
          }
          if (*outcome != expected) errors[task] = "unexpected outcome";
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  const int total = kTasks * kBatches * kRowsPerBatch;
  EXPECT_EQ(this->Balance(), std::to_string(total));
  EXPECT_EQ(this->LedgerRows(), std::to_string(total));
  EXPECT_EQ(this->QueryOne("SELECT count(*) FROM onceflow_dead_letters"), "0");
  const std::string batch = std::to_string(kBatches - 1);
  const std::string last = std::to_string((kBatches - 1) * kRowsPerBatch) + "-" +
                           std::to_string(kBatches * kRowsPerBatch);
  EXPECT_EQ(this->Progress(), (std::vector<std::string>{
                                  "0:" + batch + ":1:0:" + last, "1:" + batch + ":1:1:" + last,
                                  "2:" + batch + ":1:2:" + last, "3:" + batch + ":1:3:" + last}));
}

REGISTER_TYPED_TEST_SUITE_P(SqlSinkFailureContractTest,
                            ThrowAtMidSinkWriteWritesNothingAndARetryCommits,
                            ThrowBeforeSinkCommitWritesNothingAndARetryCommits,
                            ThrowAfterCommitKeepsTheDataAndTheRetryIsAlreadyCommitted,
                            UnreadableProgressRowIsCorruption,
                            ConcurrentCommitsOfFourTasksApplyEveryRowOnce);

}  // namespace onceflow::sink::testing::contract
