// The progress-row contract every sink keeps, written once and run against each sink (gtest's
// type-parameterized tests): progress rows name their source and where each partition began, a
// table (or marker) written by an older onceflow reads on with both unknown, a commit from
// another source is refused naming both, DeleteProgress forgets one pipeline, a replay is
// already committed (also after a restart) and a gap refused, an older epoch is fenced, a
// replay whose output digest differs from the stored one is kAlreadyCommittedDiffers.
//
// A sink's test file defines an environment class and instantiates the suite with it:
//   namespace onceflow::sink::testing::contract {
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, SinkContractTest, SqliteContractEnv);
//   }
// The environment provides:
//   void SetUp();      // a fresh storage; skips (or fails) the test without its server
//   void TearDown();
//   std::unique_ptr<Sink> OpenSink();   // a new sink on that storage, opened (append mode,
//                                       // rows {"v": integer})
//   std::string Pipeline(const std::string& name);   // a pipeline name of this test only
//   // Writes a progress row as onceflow did before it recorded sources and starts (the old
//   // table, or the old marker), before any sink is opened.
//   void WriteOldProgress(const std::string& pipeline, int32_t task, int64_t batch,
//                         int64_t epoch, const std::string& ranges);
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "sink/sink.h"
#include "sink/sink_test_util.h"
#include "util/fault_points.h"

namespace onceflow::sink::testing::contract {

// A task of epoch 1 that names its `source` (beside testing::Task, which names an epoch).
inline TaskCommit Task(const std::string& pipeline, int32_t task, int64_t batch,
                       std::vector<TaskRange> ranges, std::string source,
                       std::span<const SinkRow> rows) {
  TaskCommit t = testing::Task(pipeline, task, batch, /*epoch=*/1, std::move(ranges), rows);
  t.source = std::move(source);
  return t;
}
using testing::Task;

// The progress rows of `pipeline`, read through `sink`; fails the test on error.
inline std::map<int32_t, TaskProgress> Read(Sink* sink, const std::string& pipeline) {
  auto progress = sink->ReadProgress(pipeline);
  EXPECT_TRUE(progress.has_value()) << progress.error().ToString();
  return progress.has_value() ? *progress : std::map<int32_t, TaskProgress>();
}

template <typename Env>
class SinkContractTest : public ::testing::Test {
 protected:
  void SetUp() override { env_.SetUp(); }
  void TearDown() override {
    faults::DisarmAll();
    env_.TearDown();
  }

  // One row {"v": v} from `partition` at `offset`, kept alive by the fixture.
  std::span<const SinkRow> Rows(int64_t v, int32_t partition, int64_t offset) {
    auto& rows = rows_.emplace_back();
    rows.push_back({Row{{"v", v}}, PartitionId(partition), Offset(offset)});
    return rows;
  }

  Env env_;
  std::deque<std::vector<SinkRow>> rows_;
};

TYPED_TEST_SUITE_P(SinkContractTest);

TYPED_TEST_P(SinkContractTest, ProgressRowKeepsItsSourceAndWhereEachPartitionStarted) {
  const std::string p = this->env_.Pipeline("started");
  {
    std::unique_ptr<Sink> sink = this->env_.OpenSink();
    ASSERT_NE(sink, nullptr);
    // Task 0 (a reduce: every partition, empty ranges too) starts partition 0 at 5 and 1 at 0.
    ASSERT_EQ(CommitOne(sink.get(), Task(p, 0, 0, {R(0, 5, 10), R(1, 0, 0)}, "log:orders",
                                         this->Rows(1, 0, 5))),
              CommitOutcome::kCommitted);
    // Batch 1 goes on in both and adds partition 2, which starts at 7; a task of its own (3)
    // starts where it first committed, 40.
    ASSERT_EQ(CommitOne(sink.get(), Task(p, 0, 1, {R(0, 10, 12), R(1, 0, 3), R(2, 7, 9)},
                                         "log:orders", this->Rows(2, 0, 10))),
              CommitOutcome::kCommitted);
    ASSERT_EQ(
        CommitOne(sink.get(), Task(p, 3, 1, {R(3, 40, 41)}, "log:orders", this->Rows(3, 3, 40))),
        CommitOutcome::kCommitted);
  }
  // Read back by a new sink: what is stored, not what one object remembers.
  std::unique_ptr<Sink> sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  const auto progress = Read(sink.get(), p);
  ASSERT_EQ(progress.size(), 2u);
  const TaskProgress& t0 = progress.at(0);
  EXPECT_EQ(t0.last_batch, BatchId(1));
  EXPECT_EQ(t0.source, "log:orders");
  EXPECT_EQ(t0.ranges, (std::vector<TaskRange>{R(0, 10, 12), R(1, 0, 3), R(2, 7, 9)}));
  EXPECT_EQ(t0.started, (TaskStarts{{PartitionId(0), Offset(5)},
                                    {PartitionId(1), Offset(0)},
                                    {PartitionId(2), Offset(7)}}));
  EXPECT_EQ(progress.at(3).started, (TaskStarts{{PartitionId(3), Offset(40)}}));
  EXPECT_EQ(progress.at(3).source, "log:orders");
  // A commit that names no source checks nothing and keeps the stored one.
  ASSERT_EQ(CommitOne(sink.get(), Task(p, 3, 2, {R(3, 41, 42)}, "", this->Rows(4, 3, 41))),
            CommitOutcome::kCommitted);
  const auto after = Read(sink.get(), p);
  EXPECT_EQ(after.at(3).source, "log:orders");
  EXPECT_EQ(after.at(3).started, (TaskStarts{{PartitionId(3), Offset(40)}}));
}

TYPED_TEST_P(SinkContractTest, ProgressOfAnOlderVersionReadsWithUnknownSourceAndStarts) {
  const std::string p = this->env_.Pipeline("old");
  this->env_.WriteOldProgress(p, 0, 3, 1, "0:0-10");
  std::unique_ptr<Sink> sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  auto progress = Read(sink.get(), p);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress.at(0).last_batch, BatchId(3));
  EXPECT_EQ(progress.at(0).ranges, std::vector<TaskRange>{R(0, 0, 10)});
  EXPECT_EQ(progress.at(0).source, "");
  EXPECT_EQ(progress.at(0).started, (TaskStarts{{PartitionId(0), std::nullopt}}));
  // The old row still protects: a gap after it is refused, a replay is skipped.
  auto gap = CommitOne(sink.get(), Task(p, 0, 4, {R(0, 11, 20)}, "log:a", this->Rows(1, 0, 11)));
  ASSERT_FALSE(gap.has_value());
  EXPECT_EQ(gap.error().code(), StatusCode::kAborted) << gap.error().ToString();
  EXPECT_EQ(CommitOne(sink.get(), Task(p, 0, 3, {R(0, 0, 10)}, "log:a", this->Rows(1, 0, 0))),
            CommitOutcome::kAlreadyCommitted);
  // The next batch records the source; partition 0's start stays unknown (it began before
  // starts were recorded), partition 1 is new and starts at 0.
  ASSERT_EQ(CommitOne(sink.get(),
                      Task(p, 0, 4, {R(0, 10, 20), R(1, 0, 5)}, "log:a", this->Rows(2, 0, 10))),
            CommitOutcome::kCommitted);
  sink.reset();
  sink = this->env_.OpenSink();  // a second open migrates nothing twice
  ASSERT_NE(sink, nullptr);
  progress = Read(sink.get(), p);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress.at(0).last_batch, BatchId(4));
  EXPECT_EQ(progress.at(0).source, "log:a");
  EXPECT_EQ(progress.at(0).started,
            (TaskStarts{{PartitionId(0), std::nullopt}, {PartitionId(1), Offset(0)}}));
}

TYPED_TEST_P(SinkContractTest, CommitFromAnotherSourceIsRefusedNamingBoth) {
  const std::string p = this->env_.Pipeline("source");
  std::unique_ptr<Sink> sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  ASSERT_EQ(CommitOne(sink.get(), Task(p, 0, 0, {R(0, 0, 10)}, "log:orders", this->Rows(1, 0, 0))),
            CommitOutcome::kCommitted);
  // The topic's name changed under the same pipeline: offset 10 of "returns" is not offset 10
  // of "orders". Refused, final (a retry cannot help), nothing written.
  auto moved =
      CommitOne(sink.get(), Task(p, 0, 1, {R(0, 10, 20)}, "log:returns", this->Rows(2, 0, 10)));
  ASSERT_FALSE(moved.has_value());
  EXPECT_EQ(moved.error().code(), StatusCode::kAborted);
  EXPECT_FALSE(moved.error().retryable());
  const std::string m = moved.error().message();
  EXPECT_NE(m.find("task 0: the progress row (batch 0) belongs to source 'log:orders', but "
                   "batch 1 reads source 'log:returns'"),
            std::string::npos)
      << m;
  // Even a replay of the stored batch: the rows were not from this source.
  auto replay =
      CommitOne(sink.get(), Task(p, 0, 0, {R(0, 0, 10)}, "log:returns", this->Rows(1, 0, 0)));
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().code(), StatusCode::kAborted);
  sink.reset();
  sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  const auto progress = Read(sink.get(), p);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress.at(0).last_batch, BatchId(0));
  EXPECT_EQ(progress.at(0).source, "log:orders");
}

TYPED_TEST_P(SinkContractTest, DeleteProgressForgetsOnlyThatPipeline) {
  const std::string p = this->env_.Pipeline("gone");
  const std::string q = this->env_.Pipeline("kept");
  std::unique_ptr<Sink> sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  for (int32_t task : {0, 1}) {
    ASSERT_EQ(CommitOne(sink.get(), Task(p, task, 5, {R(task, 100, 110)}, "log:a",
                                         this->Rows(task, task, 100))),
              CommitOutcome::kCommitted);
  }
  ASSERT_EQ(CommitOne(sink.get(), Task(q, 0, 2, {R(0, 0, 4)}, "log:b", this->Rows(9, 0, 0))),
            CommitOutcome::kCommitted);
  Status deleted = sink->DeleteProgress(p);
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  EXPECT_TRUE(Read(sink.get(), p).empty());
  EXPECT_EQ(Read(sink.get(), q).size(), 1u);
  // The pipeline starts over as new: batch 0 from offset 0 of another source is its first
  // commit (no gap, no source mismatch with what was forgotten).
  ASSERT_EQ(CommitOne(sink.get(), Task(p, 0, 0, {R(0, 0, 3)}, "log:c", this->Rows(7, 0, 0))),
            CommitOutcome::kCommitted);
  sink.reset();
  sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  const auto progress = Read(sink.get(), p);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress.at(0).last_batch, BatchId(0));
  EXPECT_EQ(progress.at(0).source, "log:c");
  EXPECT_EQ(progress.at(0).started, (TaskStarts{{PartitionId(0), Offset(0)}}));
  const auto kept = Read(sink.get(), q);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept.at(0).last_batch, BatchId(2));
  EXPECT_EQ(kept.at(0).source, "log:b");
}

TYPED_TEST_P(SinkContractTest, ReplayIsAlreadyCommittedAndAGapIsRefused) {
  const std::string p = this->env_.Pipeline("replay");
  std::unique_ptr<Sink> sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  const TaskCommit b0 = Task(p, 0, 0, /*epoch=*/1, {R(0, 0, 10)}, this->Rows(1, 0, 0));
  ASSERT_EQ(CommitOne(sink.get(), b0), CommitOutcome::kCommitted);
  // A retry, a speculative twin: the progress says it is there.
  EXPECT_EQ(CommitOne(sink.get(), b0), CommitOutcome::kAlreadyCommitted);
  // A gap after it is refused, final, naming the offsets; nothing is recorded.
  auto gap = CommitOne(sink.get(), Task(p, 0, 1, 1, {R(0, 12, 20)}, this->Rows(2, 0, 12)));
  ASSERT_FALSE(gap.has_value());
  EXPECT_EQ(gap.error().code(), StatusCode::kAborted) << gap.error().ToString();
  EXPECT_FALSE(gap.error().retryable());
  EXPECT_NE(gap.error().message().find(
                "partition 0: gap: batch 1 starts at offset 12 but batch 0 ended at offset 10"),
            std::string::npos)
      << gap.error().message();
  // A replay after a restart (a new sink) finds the stored progress too.
  sink.reset();
  sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(CommitOne(sink.get(), b0), CommitOutcome::kAlreadyCommitted);
  const auto progress = Read(sink.get(), p);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress.at(0).last_batch, BatchId(0));
  EXPECT_EQ(progress.at(0).ranges, std::vector<TaskRange>{R(0, 0, 10)});
}

TYPED_TEST_P(SinkContractTest, OlderEpochIsFencedAndANewerOneTakesOver) {
  const std::string p = this->env_.Pipeline("epoch");
  std::unique_ptr<Sink> sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  ASSERT_EQ(CommitOne(sink.get(), Task(p, 0, 0, /*epoch=*/5, {R(0, 0, 1)}, this->Rows(1, 0, 0))),
            CommitOutcome::kCommitted);
  // A zombie of epoch 4 commits the next batch: fenced, and the progress stays epoch 5's.
  auto zombie = CommitOne(sink.get(), Task(p, 0, 1, 4, {R(0, 1, 2)}, this->Rows(2, 0, 1)));
  ASSERT_FALSE(zombie.has_value());
  EXPECT_EQ(zombie.error().code(), StatusCode::kFenced) << zombie.error().ToString();
  auto progress = Read(sink.get(), p);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress.at(0).last_batch, BatchId(0));
  EXPECT_EQ(progress.at(0).epoch, Epoch(5));
  // Epoch 6 goes on where epoch 5 ended.
  ASSERT_EQ(CommitOne(sink.get(), Task(p, 0, 1, 6, {R(0, 1, 2)}, this->Rows(3, 0, 1))),
            CommitOutcome::kCommitted);
  progress = Read(sink.get(), p);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress.at(0).last_batch, BatchId(1));
  EXPECT_EQ(progress.at(0).epoch, Epoch(6));
}

TYPED_TEST_P(SinkContractTest, StoredDigestOfTheOlderFormIsKeptAndNotCompared) {
  const std::string p = this->env_.Pipeline("digestform");
  std::unique_ptr<Sink> sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  // As an onceflow before digest form 2 committed it: the rows' count first, 32 digits alone.
  std::span<const SinkRow> rows = this->Rows(1, 0, 0);
  TaskCommit b0 = Task(p, 0, 0, /*epoch=*/1, {R(0, 0, 10)}, rows);
  b0.digest = OutputDigest{0x0123456789abcdefULL, 0xfedcba9876543210ULL, /*form=*/1};
  ASSERT_EQ(CommitOne(sink.get(), b0), CommitOutcome::kCommitted);
  sink.reset();
  sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(Read(sink.get(), p).at(0).digest, b0.digest);  // read back as form 1
  // The re-run by this onceflow digests the same rows in form 2: another value, not a mismatch.
  TaskCommit rerun = b0;
  rerun.digest = DigestOutput(rows, {});
  ASSERT_EQ(rerun.digest->form, kDigestForm);
  EXPECT_EQ(CommitOne(sink.get(), rerun), CommitOutcome::kAlreadyCommitted);
  EXPECT_EQ(Read(sink.get(), p).at(0).digest, b0.digest);
}

TYPED_TEST_P(SinkContractTest, ReplayWithAnotherOutputDigestIsReportedAndWritesNothing) {
  const std::string p = this->env_.Pipeline("digest");
  std::unique_ptr<Sink> sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  std::span<const SinkRow> committed_rows = this->Rows(1, 0, 0);
  TaskCommit b0 = Task(p, 0, 0, /*epoch=*/1, {R(0, 0, 10)}, committed_rows);
  b0.digest = DigestOutput(committed_rows, {});
  ASSERT_EQ(CommitOne(sink.get(), b0), CommitOutcome::kCommitted);
  // The same output again: already committed, nothing to report.
  EXPECT_EQ(CommitOne(sink.get(), b0), CommitOutcome::kAlreadyCommitted);
  // A re-run that computed another output, after a restart: reported, and nothing written.
  sink.reset();
  sink = this->env_.OpenSink();
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(Read(sink.get(), p).at(0).digest, b0.digest);
  std::span<const SinkRow> other_rows = this->Rows(2, 0, 0);
  TaskCommit rerun = Task(p, 0, 0, 1, {R(0, 0, 10)}, other_rows);
  rerun.digest = DigestOutput(other_rows, {});
  EXPECT_EQ(CommitOne(sink.get(), rerun), CommitOutcome::kAlreadyCommittedDiffers);
  // Without a digest on either side there is nothing to compare.
  rerun.digest.reset();
  EXPECT_EQ(CommitOne(sink.get(), rerun), CommitOutcome::kAlreadyCommitted);
  const auto progress = Read(sink.get(), p);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress.at(0).last_batch, BatchId(0));
  EXPECT_EQ(progress.at(0).digest, b0.digest);
  // An older batch than the stored one has no digest to compare with: already committed.
  std::span<const SinkRow> next_rows = this->Rows(3, 0, 10);
  TaskCommit b1 = Task(p, 0, 1, 1, {R(0, 10, 20)}, next_rows);
  b1.digest = DigestOutput(next_rows, {});
  ASSERT_EQ(CommitOne(sink.get(), b1), CommitOutcome::kCommitted);
  EXPECT_EQ(CommitOne(sink.get(), rerun), CommitOutcome::kAlreadyCommitted);
  EXPECT_EQ(Read(sink.get(), p).at(0).digest, b1.digest);
}

REGISTER_TYPED_TEST_SUITE_P(SinkContractTest, ProgressRowKeepsItsSourceAndWhereEachPartitionStarted,
                            ProgressOfAnOlderVersionReadsWithUnknownSourceAndStarts,
                            CommitFromAnotherSourceIsRefusedNamingBoth,
                            DeleteProgressForgetsOnlyThatPipeline,
                            ReplayIsAlreadyCommittedAndAGapIsRefused,
                            OlderEpochIsFencedAndANewerOneTakesOver,
                            ReplayWithAnotherOutputDigestIsReportedAndWritesNothing,
                            StoredDigestOfTheOlderFormIsKeptAndNotCompared);

}  // namespace onceflow::sink::testing::contract
