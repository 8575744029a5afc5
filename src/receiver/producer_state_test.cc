// ProducerState: the sequence rules, the snapshot format, and the rebuild from the log.
#include "receiver/producer_state.h"

#include <gtest/gtest.h>

#include "receiver/receiver_test_util.h"
#include "util/file.h"

namespace onceflow::receiver {
namespace {

using testing::TempDir;
using Verdict = SequenceCheck::Verdict;

TEST(ProducerStateTest, UnknownProducerMustStartAtZero) {
  ProducerState s;
  EXPECT_EQ(s.Check("p", 0, 3).verdict, Verdict::kAppend);
  SequenceCheck c = s.Check("p", 5, 3);
  EXPECT_EQ(c.verdict, Verdict::kReject);
  EXPECT_NE(c.error.find("must have sequence 0, got 5"), std::string::npos) << c.error;
}

TEST(ProducerStateTest, NextSequenceGapRepeatAndOverlap) {
  ProducerState s;
  s.OnAppended("p", {0, 3, Offset(10)}, 1000);
  s.OnAppended("p", {3, 2, Offset(20)}, 1000);
  EXPECT_EQ(s.Check("p", 5, 1).verdict, Verdict::kAppend);

  SequenceCheck gap = s.Check("p", 7, 1);
  EXPECT_EQ(gap.verdict, Verdict::kReject);
  EXPECT_NE(gap.error.find("expected sequence 5, got 7"), std::string::npos) << gap.error;

  SequenceCheck repeat = s.Check("p", 0, 3);
  ASSERT_EQ(repeat.verdict, Verdict::kDuplicate);
  EXPECT_EQ(repeat.original.base_offset, Offset(10));
  EXPECT_EQ(s.Check("p", 3, 2).original.base_offset, Offset(20));

  SequenceCheck overlap = s.Check("p", 1, 4);  // not one of the stored requests
  EXPECT_EQ(overlap.verdict, Verdict::kReject);
  EXPECT_NE(overlap.error.find("already stored"), std::string::npos) << overlap.error;
}

TEST(ProducerStateTest, KeepsTheLastRequestsOnly) {
  ProducerState s;
  for (int i = 0; i < 8; ++i) s.OnAppended("p", {i, 1, Offset(i)}, 1000);
  EXPECT_EQ(s.Find("p")->recent.size(), kRetainedRequests);
  EXPECT_EQ(s.Check("p", 7, 1).verdict, Verdict::kDuplicate);
  EXPECT_EQ(s.Check("p", 0, 1).verdict, Verdict::kReject);  // too old to answer with offsets
}

TEST(ProducerStateTest, ReplayedBatchIsIgnored) {
  ProducerState s;
  s.OnAppended("p", {0, 3, Offset(10)}, 1000);
  s.OnAppended("p", {0, 3, Offset(99)}, 2000);  // a scan replaying what the snapshot holds
  EXPECT_EQ(s.Find("p")->recent.size(), 1u);
  EXPECT_EQ(s.Find("p")->recent.back().base_offset, Offset(10));
}

TEST(ProducerStateTest, IdleProducersExpire) {
  ProducerState s;
  s.OnAppended("old", {0, 1, Offset(0)}, 1000);
  s.OnAppended("new", {0, 1, Offset(1)}, 5000);
  EXPECT_EQ(s.ExpireIdle(6000, -1), 0u);
  EXPECT_EQ(s.ExpireIdle(6000, 2000), 1u);
  EXPECT_EQ(s.Find("old"), nullptr);
  EXPECT_NE(s.Find("new"), nullptr);
}

TEST(ProducerStateTest, SnapshotRoundTrips) {
  ProducerState s;
  s.OnAppended("a", {0, 3, Offset(0)}, 1000);
  s.OnAppended("a", {3, 1, Offset(7)}, 1500);
  s.OnAppended("b.c:d-e_f", {0, 2, Offset(3)}, 1200);
  const std::string text = s.EncodeSnapshot(Offset(8));
  ProducerState back;
  auto covered = back.DecodeSnapshot(text, "x.snapshot");
  ASSERT_TRUE(covered.has_value()) << covered.error().ToString();
  EXPECT_EQ(*covered, Offset(8));
  EXPECT_EQ(back.EncodeSnapshot(Offset(8)), text);
}

TEST(ProducerStateTest, FlippedSnapshotByteIsCorruption) {
  ProducerState s;
  s.OnAppended("a", {0, 3, Offset(0)}, 1000);
  std::string text = s.EncodeSnapshot(Offset(3));
  text[text.find("producer a") + 9] = 'b';
  ProducerState back;
  auto covered = back.DecodeSnapshot(text, "x.snapshot");
  ASSERT_FALSE(covered.has_value());
  EXPECT_TRUE(covered.error().IsCorruption());
  EXPECT_NE(covered.error().message().find("x.snapshot"), std::string::npos);
}

TEST(ProducerStateTest, ValidatesProducerIds) {
  EXPECT_TRUE(ValidateProducerId("client-7.a:b_c").ok());
  EXPECT_FALSE(ValidateProducerId("").ok());
  EXPECT_FALSE(ValidateProducerId("has space").ok());
  EXPECT_FALSE(ValidateProducerId(std::string(65, 'x')).ok());
}

// The rebuild: the table comes from the producer headers in the log; a snapshot only shortens
// the scan, and a snapshot that claims more than the log holds is ignored.
TEST(ProducerStateTest, RecoversFromTheLogWithAndWithoutSnapshot) {
  TempDir dir;
  testing::CreateTopic(dir.path(), "t");
  {
    auto ingestor = testing::OpenIngestor(dir.path());
    std::vector<std::string> v = {"a", "b"};
    ASSERT_EQ(ingestor->Ingest(testing::Request("t", v, "p", 0)).status, 200);
    ASSERT_EQ(ingestor->Ingest(testing::Request("t", v, "p", 2)).status, 200);
    ASSERT_EQ(ingestor->Ingest(testing::Request("t", v, "q", 0)).status, 200);
    ASSERT_TRUE(ingestor->Close().ok());
  }
  auto topic = log::Topic::Open(dir.path(), "t", /*read_only=*/true);
  ASSERT_TRUE(topic.has_value());
  log::PartitionLog* plog = *(*topic)->partition(PartitionId(0));
  const std::string snap = ProducerSnapshotPath(dir.path(), "t", 0);
  ASSERT_TRUE(PathExists(snap));
  for (int variant = 0; variant < 3; ++variant) {
    if (variant == 1) {
      ASSERT_TRUE(RemoveFile(snap).ok());  // no snapshot: a full scan
    }
    if (variant == 2) {  // a snapshot from the future
      ProducerState bogus;
      bogus.OnAppended("p", {0, 100, Offset(0)}, 1000);
      ASSERT_TRUE(WriteFileAtomically(snap, bogus.EncodeSnapshot(Offset(1000))).ok());
    }
    auto s = RecoverProducerState(*plog, snap, 0, -1);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    SequenceCheck c = s->Check("p", 2, 2);
    ASSERT_EQ(c.verdict, Verdict::kDuplicate) << "variant " << variant;
    EXPECT_EQ(c.original.base_offset, Offset(2));
    EXPECT_EQ(s->Check("p", 4, 1).verdict, Verdict::kAppend);
    EXPECT_EQ(s->Check("q", 0, 2).original.base_offset, Offset(4));
  }
}

}  // namespace
}  // namespace onceflow::receiver
