#include "checkpoint/checkpoint.h"

#include <gtest/gtest.h>

#include "log/log_test_util.h"
#include "util/file.h"

namespace onceflow::checkpoint {
namespace {

using log::testing::TempDir;

BatchIntent Intent(int64_t batch, int partitions = 3) {
  BatchIntent in;
  in.batch = BatchId(batch);
  in.batch_time_ms = 1700000000000 + batch;
  in.watermark_ms = -5;
  in.seed = 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(batch);
  for (int p = 0; p < partitions; ++p) {
    in.ranges.push_back({PartitionId(p), Offset(batch * 10), Offset(batch * 10 + 10)});
  }
  return in;
}

TEST(BatchIntentTest, RoundTripAndRefusals) {
  BatchIntent in = Intent(42);
  EXPECT_EQ(DecodeIntent(EncodeIntent(in)).value(), in);
  EXPECT_EQ(DecodeCommit(EncodeCommit(BatchId(42))).value(), BatchId(42));
  std::string newer = EncodeIntent(in);
  newer[0] = 4;
  auto refused = DecodeIntent(newer);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("version 4 is not supported"), std::string::npos);
  std::string cut = EncodeIntent(in);
  cut.pop_back();
  EXPECT_TRUE(DecodeIntent(cut).error().IsCorruption());
}

TEST(BatchIntentTest, Version1RecordsAreStillRead) {
  // A version-1 intent as onceflow wrote it before event time: batch 7, time 1000, watermark 0,
  // seed 9, one range p0 [10, 20).
  const std::string v1 = std::string("\x01\x07\xd0\x0f\x00\x09\x01\x00\x0a\x14", 10);
  auto in = DecodeIntent(v1);
  ASSERT_TRUE(in.has_value()) << in.error().ToString();
  EXPECT_EQ(in->batch, BatchId(7));
  EXPECT_EQ(in->batch_time_ms, 1000);
  EXPECT_EQ(in->seed, 9u);
  EXPECT_EQ(in->watermark_ms, kNoWatermark);
  EXPECT_EQ(in->max_event_time_ms, kNoWatermark);
  ASSERT_EQ(in->ranges.size(), 1u);
  EXPECT_EQ(in->ranges[0].until, Offset(20));
}

TEST(BatchIntentTest, Version2KeepsTheEventTime) {
  BatchIntent in = Intent(3);
  in.max_event_time_ms = 1700000000123;
  in.watermark_ms = 1700000000000;
  EXPECT_EQ(EncodeIntent(in)[0], 3);  // version 3 keeps it too (batch_intent_test.cc)
  EXPECT_EQ(DecodeIntent(EncodeIntent(in)).value(), in);
}

TEST(BatchIntentTest, CommitVersion2KeepsTheMarksAndVersion1IsStillRead) {
  const std::vector<PartitionMark> marks = {{PartitionId(0), Offset(9), 0xdeadbeef},
                                            {PartitionId(3), Offset(1199), 7}};
  const std::string v2 = EncodeCommit(BatchId(42), marks);
  EXPECT_EQ(v2[0], 2);
  auto back = DecodeCommitRecord(v2);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(back->batch, BatchId(42));
  EXPECT_EQ(back->marks, marks);
  // A version-1 commit record (batch 300): no marks.
  auto v1 = DecodeCommitRecord(std::string("\x01\xac\x02", 3));
  ASSERT_TRUE(v1.has_value()) << v1.error().ToString();
  EXPECT_EQ(v1->batch, BatchId(300));
  EXPECT_TRUE(v1->marks.empty());
  std::string cut = v2;
  cut.pop_back();
  EXPECT_TRUE(DecodeCommitRecord(cut).error().IsCorruption());
}

TEST(BatchIntentTest, FingerprintTellsRecordsApart) {
  RecordView a;
  a.value = "hello";
  a.timestamp_ms = 1000;
  RecordView b = a;
  EXPECT_EQ(RecordFingerprint(a), RecordFingerprint(b));
  b.value = "hellp";
  EXPECT_NE(RecordFingerprint(a), RecordFingerprint(b));
  b = a;
  b.timestamp_ms = 1001;
  EXPECT_NE(RecordFingerprint(a), RecordFingerprint(b));
  b = a;
  b.key = std::string_view("");
  EXPECT_NE(RecordFingerprint(a), RecordFingerprint(b));  // an empty key is not no key
}

TEST(CheckpointTest, MarksAreCarriedOverAndSurviveReopen) {
  TempDir dir;
  const std::string cp_dir = dir.path() + "/cp";
  {
    auto cp = Checkpoint::Open(cp_dir).value();
    ASSERT_TRUE(cp->WriteIntent(Intent(0)).ok());
    const PartitionMark first[] = {{PartitionId(0), Offset(9), 1}, {PartitionId(2), Offset(9), 2}};
    ASSERT_TRUE(cp->WriteCommit(BatchId(0), first).ok());
    ASSERT_TRUE(cp->WriteIntent(Intent(1)).ok());
    // Batch 1 read only partitions 1 and 2: partition 0 keeps its mark of batch 0.
    const PartitionMark second[] = {{PartitionId(2), Offset(19), 3},
                                    {PartitionId(1), Offset(19), 4}};
    ASSERT_TRUE(cp->WriteCommit(BatchId(1), second).ok());
  }
  auto cp = Checkpoint::OpenReadOnly(cp_dir).value();
  const std::vector<PartitionMark> want = {{PartitionId(0), Offset(9), 1},
                                           {PartitionId(1), Offset(19), 4},
                                           {PartitionId(2), Offset(19), 3}};
  EXPECT_EQ(cp->marks(), want);
}

TEST(CheckpointTest, MarksOfThousandsOfPartitionsAreReadBack) {
  TempDir dir;
  const std::string cp_dir = dir.path() + "/cp";
  std::vector<PartitionMark> marks;
  for (int p = 0; p < 5000; ++p) {
    marks.push_back({PartitionId(p), Offset(1000000 + p), static_cast<uint32_t>(p * 7919)});
  }
  {
    auto cp = Checkpoint::Open(cp_dir).value();
    ASSERT_TRUE(cp->WriteIntent(Intent(0, 5000)).ok());
    ASSERT_TRUE(cp->WriteCommit(BatchId(0), marks).ok());
  }
  auto cp = Checkpoint::OpenReadOnly(cp_dir);
  ASSERT_TRUE(cp.has_value()) << cp.error().ToString();
  EXPECT_EQ((*cp)->marks(), marks);
}

TEST(CheckpointTest, SourceRecordIsPersistedAndRefusedWhenNewer) {
  TempDir dir;
  const std::string cp_dir = dir.path() + "/cp";
  SourceRecord source{"log",
                      "events",
                      "00112233445566778899aabbccddeeff",
                      {Offset(0), Offset(-1), Offset(17)},
                      {"2026-12-07T03:00:00Z partition 2: offsets [10, 17) lost"}};
  {
    auto cp = Checkpoint::Open(cp_dir).value();
    EXPECT_FALSE(cp->source().has_value());
    ASSERT_TRUE(cp->WriteSource(source).ok());
  }
  auto cp = Checkpoint::OpenReadOnly(cp_dir).value();
  ASSERT_TRUE(cp->source().has_value());
  EXPECT_EQ(*cp->source(), source);
  EXPECT_EQ(cp->source()->StartOf(PartitionId(2)), Offset(17));
  EXPECT_EQ(cp->source()->StartOf(PartitionId(1)), Offset(-1));
  EXPECT_EQ(cp->source()->StartOf(PartitionId(9)), Offset(-1));
  auto newer = DecodeSourceRecord("format_version=2\ntype=log\n", "/x/source.meta");
  ASSERT_FALSE(newer.has_value());
  EXPECT_NE(newer.error().message().find("/x/source.meta"), std::string::npos);
  auto bad = DecodeSourceRecord("format_version=1\ntype=log\nstarts=0:x\n", "/x/source.meta");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("0:x"), std::string::npos);
}

TEST(CheckpointTest, RecoversTheLastIntentAndCommit) {
  TempDir dir;
  const std::string cp_dir = dir.path() + "/pipelines/p";
  {
    auto cp = Checkpoint::Open(cp_dir);
    ASSERT_TRUE(cp.has_value()) << cp.error().ToString();
    EXPECT_FALSE((*cp)->last_intent().has_value());
    EXPECT_EQ((*cp)->epoch(), Epoch(1));
    for (int b = 0; b < 5; ++b) {
      ASSERT_TRUE((*cp)->WriteIntent(Intent(b)).ok());
      ASSERT_TRUE((*cp)->WriteCommit(BatchId(b)).ok());
    }
    ASSERT_TRUE((*cp)->WriteIntent(Intent(5)).ok());  // crash before its commit
  }
  auto cp = Checkpoint::Open(cp_dir);
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ((*cp)->epoch(), Epoch(2));
  ASSERT_TRUE((*cp)->last_intent().has_value());
  EXPECT_EQ(*(*cp)->last_intent(), Intent(5));
  EXPECT_EQ((*cp)->last_commit(), BatchId(4));
  EXPECT_TRUE((*cp)->has_unfinished_batch());
}

TEST(CheckpointTest, ACommitWithoutItsIntentNamesTheOffsetsLog) {
  TempDir dir;
  const std::string cp_dir = dir.path() + "/cp";
  {
    auto cp = Checkpoint::Open(cp_dir).value();
    for (int b = 0; b < 3; ++b) {
      ASSERT_TRUE(cp->WriteIntent(Intent(b)).ok());
      ASSERT_TRUE(cp->WriteCommit(BatchId(b)).ok());
    }
  }
  ASSERT_TRUE(RemoveAll(cp_dir + "/offsets").ok());  // the intents are gone
  auto cp = Checkpoint::OpenReadOnly(cp_dir);
  ASSERT_FALSE(cp.has_value());
  EXPECT_TRUE(cp.error().IsCorruption());
  EXPECT_NE(cp.error().message().find("batch 2 is committed but has no intent"), std::string::npos);
  EXPECT_NE(cp.error().message().find(cp_dir + "/offsets is empty"), std::string::npos)
      << cp.error().message();
}

TEST(CheckpointTest, SecondDriverIsRefused) {
  TempDir dir;
  auto first = Checkpoint::Open(dir.path() + "/cp");
  ASSERT_TRUE(first.has_value());
  auto second = Checkpoint::Open(dir.path() + "/cp");
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kBusy);
  EXPECT_NE(second.error().message().find("in use"), std::string::npos);
  // A read-only look (status, verify) works beside the driver.
  EXPECT_TRUE(Checkpoint::OpenReadOnly(dir.path() + "/cp").has_value());
}

TEST(CheckpointTest, NewerFormatIsRefused) {
  TempDir dir;
  const std::string cp_dir = dir.path() + "/cp";
  ASSERT_TRUE(CreateDirs(cp_dir).ok());
  ASSERT_TRUE(WriteFileAtomically(cp_dir + "/checkpoint.meta", "format_version=2\n").ok());
  auto cp = Checkpoint::Open(cp_dir);
  ASSERT_FALSE(cp.has_value());
  EXPECT_NE(cp.error().message().find("format version 2"), std::string::npos);
  EXPECT_NE(cp.error().message().find(cp_dir), std::string::npos);
}

TEST(CheckpointTest, LogsAreCompactedSoRecoveryDoesNotGrowWithHistory) {
  TempDir dir;
  const std::string cp_dir = dir.path() + "/cp";
  {
    auto cp = Checkpoint::Open(cp_dir).value();
    // 64 partitions make ~0.5 KB intents: 3000 of them are twice what retention keeps.
    size_t written = 0;
    for (int b = 0; b < 3000; ++b) {
      ASSERT_TRUE(cp->WriteIntent(Intent(b, 64)).ok());
      ASSERT_TRUE(cp->WriteCommit(BatchId(b)).ok());
      written += EncodeIntent(Intent(b, 64)).size();
    }
    EXPECT_GT(written, 1000000U);
    EXPECT_LT(cp->size_bytes(), 800u << 10);
  }
  auto cp = Checkpoint::Open(cp_dir).value();
  EXPECT_EQ(cp->last_intent()->batch, BatchId(2999));
  EXPECT_EQ(*cp->last_commit(), BatchId(2999));
  EXPECT_FALSE(cp->has_unfinished_batch());
}

// Preconditions whose violation would corrupt a checkpoint abort with one line (ONCEFLOW_CHECK).
TEST(CheckpointDeathTest, CommittingABatchTwiceAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  auto cp = Checkpoint::Open(dir.path() + "/cp").value();
  ASSERT_TRUE(cp->WriteIntent(Intent(0)).ok());
  ASSERT_TRUE(cp->WriteCommit(BatchId(0)).ok());
  ASSERT_TRUE(cp->WriteIntent(Intent(1)).ok());
  ASSERT_TRUE(cp->WriteCommit(BatchId(1)).ok());
  EXPECT_DEATH((void)cp->WriteCommit(BatchId(1)),
               "CHECK failed: .*: commit of batch 1 after the commit of batch 1\n");
  EXPECT_DEATH((void)cp->WriteIntent(Intent(0)),
               "CHECK failed: .*: intent of batch 0 after the commit of batch 1\n");
  // The same calls in order still work: the checks are about order, not counts.
  ASSERT_TRUE(cp->WriteIntent(Intent(2)).ok());
  EXPECT_TRUE(cp->WriteCommit(BatchId(2)).ok());
}

TEST(CheckpointDeathTest, WritingThroughAReadOnlyCheckpointAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  const std::string cp_dir = dir.path() + "/cp";
  {
    auto cp = Checkpoint::Open(cp_dir).value();
    ASSERT_TRUE(cp->WriteIntent(Intent(0)).ok());
  }
  auto cp = Checkpoint::OpenReadOnly(cp_dir).value();
  EXPECT_DEATH((void)cp->WriteCommit(BatchId(0)), "read-only checkpoint");
  EXPECT_DEATH((void)cp->WriteIntent(Intent(1)), "read-only checkpoint");
  EXPECT_DEATH((void)cp->WriteSource(SourceRecord{}), "read-only checkpoint");
  EXPECT_DEATH((void)cp->RaiseEpochAbove(Epoch(100)), "read-only checkpoint");
  // Nothing was written: the intent of batch 0 is still unfinished.
  EXPECT_TRUE(Checkpoint::OpenReadOnly(cp_dir).value()->has_unfinished_batch());
}

}  // namespace
}  // namespace onceflow::checkpoint
