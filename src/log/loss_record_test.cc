// The LOSSES file: its encoding, and the labels and commands derived from a partition's path.
#include "log/loss_record.h"

#include <gtest/gtest.h>

#include "log/log_test_util.h"
#include "util/file.h"

namespace onceflow::log {
namespace {

using testing::TempDir;

class LossRecordTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(LossRecordTest, EventsSurviveAnEncodeDecodeRoundTrip) {
  LossEvent torn;
  torn.kind = LossKind::kTornTail;
  torn.segment = "00000000000000000000.log";
  torn.byte = 4096;
  torn.first = Offset(19);
  torn.time_ms = 1765000000000;
  torn.reason = "batch checksum mismatch\nsecond line";
  LossEvent skipped = torn;
  skipped.kind = LossKind::kSkipped;
  skipped.first = Offset(100);
  skipped.last = Offset(149);
  skipped.reason = "bad batch length 7";
  ASSERT_TRUE(AppendLoss(dir_.path(), torn).ok());
  ASSERT_TRUE(AppendLoss(dir_.path(), skipped).ok());
  auto events = ReadLosses(dir_.path());
  ASSERT_TRUE(events.has_value()) << events.error().ToString();
  ASSERT_EQ(events->size(), 2U);
  EXPECT_EQ((*events)[0].kind, LossKind::kTornTail);
  EXPECT_FALSE((*events)[0].last_known());
  EXPECT_EQ((*events)[0].byte, 4096U);
  EXPECT_EQ((*events)[0].reason, "batch checksum mismatch second line");
  EXPECT_EQ((*events)[0].partition_dir, dir_.path());
  EXPECT_EQ((*events)[1].kind, LossKind::kSkipped);
  EXPECT_TRUE((*events)[1].Skips(Offset(100)));
  EXPECT_TRUE((*events)[1].Skips(Offset(149)));
  EXPECT_FALSE((*events)[1].Skips(Offset(150)));
  EXPECT_EQ((*events)[1].time_ms, 1765000000000);
}

TEST_F(LossRecordTest, AbsentFileIsNoLossAndADamagedOneIsCorruptionNamingIt) {
  EXPECT_TRUE(ReadLosses(dir_.path()).value().empty());
  const std::string path = JoinPath(dir_.path(), kLossFileName);
  ASSERT_TRUE(WriteFileAtomically(path, "# onceflow partition losses, format 1\n"
                                        "skipped segment=x byte=1 first=5 last=oops time_ms=0 "
                                        "reason=r\n")
                  .ok());
  auto events = ReadLosses(dir_.path());
  ASSERT_FALSE(events.has_value());
  EXPECT_TRUE(events.error().IsCorruption());
  EXPECT_NE(events.error().message().find(path + " line 2"), std::string::npos)
      << events.error().message();
}

TEST_F(LossRecordTest, TopicPartitionsAreNamedWithTheCommandThatRepairsThem) {
  EXPECT_EQ(PartitionLabel("/d/topics/orders/3"), "topic 'orders' partition 3");
  EXPECT_EQ(RepairCommand("/d/topics/orders/3"),
            "onceflow topics repair orders --partition 3 --skip-damaged --data /d");
  EXPECT_EQ(RepairCommand("data/topics/t/0"),
            "onceflow topics repair t --partition 0 --skip-damaged --data data");
  // A checkpoint's log is not a topic: no command to suggest.
  EXPECT_EQ(RepairCommand("/d/checkpoints/p/offsets"), "");
  EXPECT_EQ(PartitionLabel("/d/checkpoints/p/offsets"), "/d/checkpoints/p/offsets");
}

}  // namespace
}  // namespace onceflow::log
