// LogSource over a topic with a range recorded as lost: the range is skipped identically on
// every read and reported once, naming the topic, partition and offsets.
#include "source/log_source.h"

#include <gtest/gtest.h>

#include <vector>

#include "log/log_format.h"
#include "log/log_test_util.h"
#include "log/loss_record.h"
#include "log/record_batch.h"
#include "log/repair.h"
#include "log/topic.h"

namespace onceflow::source {
namespace {

using log::testing::AppendValues;
using log::testing::TempDir;

class LogSourceTest : public ::testing::Test {
 protected:
  void TearDown() override { log::SetLossReporter(nullptr); }
  TempDir dir_;
};

TEST_F(LogSourceTest, ReadAcrossASkippedRangeSkipsItIdenticallyAndReportsItOnce) {
  log::TopicConfig config;
  config.log.segment_bytes = 4096;
  const std::string pdir = dir_.path() + "/topics/events/0";
  {
    auto topic = log::Topic::Create(dir_.path(), "events", config).value();
    std::vector<std::string> values;
    for (int i = 0; i < 200; ++i) values.push_back("e" + std::to_string(i));
    AppendValues(topic->partition(PartitionId(0)).value(), values);
  }
  // Damage the batch of offset 30 (one record per batch) and skip it deliberately.
  {
    const std::vector<std::string> names = ListDir(pdir).value();
    std::string first;
    for (const std::string& n : names) {
      if (n.ends_with(".log") && (first.empty() || n < first)) first = n;
    }
    std::string bytes = ReadFileToString(JoinPath(pdir, first)).value();
    size_t p = 0;
    for (int i = 0; i < 30; ++i)
      p += log::ParseBatchHeader(std::string_view(bytes).substr(p))->length;
    bytes[p + log::kBatchHeaderSize + 2] ^= 0x10;
    auto f = File::Open(JoinPath(pdir, first), File::Mode::kReadWrite).value();
    ASSERT_TRUE(f.WriteAt(0, bytes).ok());
  }
  auto found = log::RepairPartition(pdir, config.log, /*skip_damaged=*/true);
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  ASSERT_EQ(found->size(), 1U);

  std::vector<log::LossEvent> reported;
  log::SetLossReporter([&](const log::LossEvent& e) { reported.push_back(e); });
  auto source = LogSource::Open(dir_.path(), "events").value();
  auto read = [&](Offset from, Offset until) {
    std::vector<int64_t> offsets;
    Status s = source->Read(PartitionId(0), from, until, [&](Offset o, const RecordView& r) {
      EXPECT_EQ(r.value, "e" + o.ToString());
      offsets.push_back(o.value());
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return offsets;
  };
  std::vector<int64_t> expected;
  for (int64_t i = 20; i < 40; ++i) {
    if (i != 30) expected.push_back(i);
  }
  EXPECT_EQ(read(Offset(20), Offset(40)), expected);
  EXPECT_EQ(read(Offset(20), Offset(40)), expected) << "a re-run batch reads identically";
  // Ranges that start or end inside the skipped one.
  EXPECT_EQ(read(Offset(30), Offset(32)), (std::vector<int64_t>{31}));
  EXPECT_EQ(read(Offset(29), Offset(31)), (std::vector<int64_t>{29}));
  EXPECT_EQ(read(Offset(30), Offset(31)), (std::vector<int64_t>{}));
  ASSERT_EQ(reported.size(), 1U) << "one line per skipped range and process";
  EXPECT_EQ(reported[0].first, Offset(30));
  EXPECT_EQ(reported[0].last, Offset(30));
  EXPECT_NE(reported[0].Describe().find("offset 30 of topic 'events' partition 0"),
            std::string::npos)
      << reported[0].Describe();
  auto losses = source->Losses(PartitionId(0));
  ASSERT_TRUE(losses.has_value()) << losses.error().ToString();
  ASSERT_EQ(losses->size(), 1U);
  EXPECT_EQ((*losses)[0].kind, log::LossKind::kSkipped);
}

}  // namespace
}  // namespace onceflow::source
