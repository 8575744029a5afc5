// The source checks the driver, status and verify make: identity, lost records, rewritten
// records, and what is not a loss (a record deleted by retention).
#include "engine/source_check.h"

#include <gtest/gtest.h>

#include "log/log_test_util.h"
#include "log/topic.h"
#include "source/log_source.h"

namespace onceflow::engine {
namespace {

using log::testing::TempDir;

class SourceCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::TopicConfig c;
    c.partitions = 2;
    auto t = log::Topic::Create(dir_.path(), "t", c);
    ASSERT_TRUE(t.has_value()) << t.error().ToString();
    Append(**t, 0, 10);
    Append(**t, 1, 5);
    t->reset();
    auto s = source::LogSource::Open(dir_.path(), "t");
    ASSERT_TRUE(s.has_value());
    source_ = std::move(*s);
    bounds_ = source_->OffsetBounds().value();
  }

  static void Append(log::Topic& t, int32_t p, int n) {
    for (int i = 0; i < n; ++i) {
      const std::string v = "p" + std::to_string(p) + "-" + std::to_string(i);
      RecordView r;
      r.value = v;
      r.timestamp_ms = 1000 + i;
      auto log = t.partition(PartitionId(p));
      ASSERT_TRUE(log.has_value());
      ASSERT_TRUE((*log)->Append(std::span<const RecordView>(&r, 1)).has_value());
    }
  }

  TempDir dir_;
  std::unique_ptr<source::LogSource> source_;
  source::Source::Bounds bounds_;
};

TEST_F(SourceCheckTest, ASourceThatHoldsWhatWasCommittedPasses) {
  auto marks = MarksAt(source_.get(), bounds_, {Offset(10), Offset(5)});
  ASSERT_TRUE(marks.has_value()) << marks.error().ToString();
  ASSERT_EQ(marks->size(), 2u);
  EXPECT_EQ((*marks)[0].offset, Offset(9));
  EXPECT_EQ((*marks)[1].offset, Offset(4));
  EXPECT_TRUE(
      CheckSourceHoldsCommitted(source_.get(), bounds_, {Offset(10), Offset(5)}, *marks, "W").ok());
}

TEST_F(SourceCheckTest, ASourceEndingBeforeTheCommittedOffsetLostRecords) {
  Status s =
      CheckSourceHoldsCommitted(source_.get(), bounds_, {Offset(12), Offset(5)}, {}, "Run X.");
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("partition 0: the source ends at offset 10 but the pipeline has "
                             "read it up to 12: 2 records it processed were lost"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("Run X."), std::string::npos);
}

TEST_F(SourceCheckTest, ARecordWithAnotherFingerprintWasRewritten) {
  auto marks = MarksAt(source_.get(), bounds_, {Offset(10), Offset(5)}).value();
  marks[1].fingerprint ^= 1;
  Status s = CheckSourceHoldsCommitted(source_.get(), bounds_, {Offset(10), Offset(5)}, marks, "");
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("partition 1: the record at offset 4, the last one the pipeline "
                             "committed, was rewritten"),
            std::string::npos)
      << s.message();
}

TEST_F(SourceCheckTest, AMarkedRecordDeletedByRetentionIsNotALoss) {
  // The source as retention left it: partition 0 starts after the marked record.
  source::Source::Bounds later = bounds_;
  later.earliest[0] = Offset(10);
  later.end[0] = Offset(20);
  checkpoint::PartitionMark mark{PartitionId(0), Offset(9), 12345};
  EXPECT_TRUE(CheckSourceHoldsCommitted(source_.get(), later, {}, {mark}, "").ok());
  // But a source that ends at (or before) the marked offset lost it.
  later.earliest[0] = Offset(9);
  later.end[0] = Offset(9);
  Status lost = CheckSourceHoldsCommitted(source_.get(), later, {}, {mark}, "");
  EXPECT_TRUE(lost.IsCorruption());
  EXPECT_NE(lost.message().find("committed the record at offset 9: 1 committed records were lost"),
            std::string::npos)
      << lost.message();
}

TEST(SourceIdentityTest, AnotherTopicOrAnotherIdIsRefusedNamingBoth) {
  const checkpoint::SourceRecord recorded{"log", "a", "id1", {}, {}};
  EXPECT_TRUE(CheckSourceIdentity("p", std::nullopt, {"log", "b", "x"}, "W").ok());
  EXPECT_TRUE(CheckSourceIdentity("p", recorded, {"log", "a", "id1"}, "W").ok());
  Status again = CheckSourceIdentity("p", recorded, {"log", "a", "id2"}, "Run W.");
  ASSERT_TRUE(again.IsInvalidArgument());
  EXPECT_EQ(again.message(),
            "pipeline 'p' committed its offsets from log topic 'a' (id id1) but now reads log "
            "topic 'a' (id id2) (the topic was deleted and created again): its offsets mean "
            "nothing there. Give the pipeline a new name. Run W.");
  Status other = CheckSourceIdentity("p", recorded, {"log", "b", "id1"}, "W");
  EXPECT_NE(other.message().find("now reads log topic 'b' (id id1) (its source changed)"),
            std::string::npos)
      << other.message();
  // A topic from before ids, created again with one.
  const checkpoint::SourceRecord legacy{"log", "a", "", {}, {}};
  EXPECT_TRUE(CheckSourceIdentity("p", legacy, {"log", "a", ""}, "W").ok());
  EXPECT_FALSE(CheckSourceIdentity("p", legacy, {"log", "a", "new"}, "W").ok());
}

TEST(SourceIdentityTest, WithWayOutKeepsTheCodeAndAddsTheSentence) {
  Status s = WithWayOut(Status::Corruption("bad thing."), "Run X");
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.message(), "bad thing. Run X");
  EXPECT_TRUE(WithWayOut(Status::Ok(), "Run X").ok());
}

TEST(SourceIdentityTest, WayOutsNameTheResetCommandOrTheCheckpointDirectory) {
  EXPECT_EQ(ResetWayOut("onceflow reset p.toml --yes", "d", "p"),
            "To start it afresh from its starting_offsets (its sink's output rows stay), run "
            "'onceflow reset p.toml --yes'");
  EXPECT_EQ(ResetWayOut("", "d", "p"),
            "To start it afresh, delete its checkpoint directory d/pipelines/p and the sink's "
            "progress rows of the pipeline");
  EXPECT_EQ(LossOrResetWayOut("onceflow reset p.toml --yes", "d", "p"),
            LossWayOut("onceflow reset p.toml --accept-loss --yes", "onceflow reset p.toml --yes"));
  EXPECT_EQ(LossOrResetWayOut("", "d", "p"), ResetWayOut("", "d", "p"));
}

}  // namespace
}  // namespace onceflow::engine
