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

}  // namespace
}  // namespace onceflow::checkpoint
