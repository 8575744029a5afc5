// RepairPartition: damage is found and reported without a change; with skip_damaged it is
// recorded as lost, and readers skip exactly the recorded offsets.
#include "log/repair.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "log/log_format.h"
#include "log/log_test_util.h"
#include "log/partition_log.h"
#include "log/partition_reader.h"
#include "log/record_batch.h"
#include "log/segment_name.h"

namespace onceflow::log {
namespace {

namespace fs = std::filesystem;
using testing::AppendValues;
using testing::ReadAll;
using testing::TempDir;

class RepairTest : public ::testing::Test {
 protected:
  // A topic partition's directory, so that errors can name the repair command.
  std::string Dir() const { return dir_.path() + "/topics/t/0"; }

  std::vector<std::string> Segments() const {
    std::vector<std::string> out;
    const std::vector<std::string> names = ListDir(Dir()).value();
    for (const std::string& name : names) {
      auto parsed = ParseSegmentFileName(name);
      if (parsed && parsed->kind == SegmentFileKind::kLog) out.push_back(JoinPath(Dir(), name));
    }
    return out;
  }

  // Flips a byte inside the value of batch `n` of segment `path`; returns the batch's position.
  static uint64_t DamageBatch(const std::string& path, int n) {
    auto bytes = ReadFileToString(path).value();
    size_t p = 0;
    for (int i = 0; i < n; ++i) p += ParseBatchHeader(std::string_view(bytes).substr(p))->length;
    auto f = File::Open(path, File::Mode::kReadWrite).value();
    char c = bytes[p + kBatchHeaderSize + 4] ^ 0x40;
    EXPECT_TRUE(f.WriteAt(p + kBatchHeaderSize + 4, std::string_view(&c, 1)).ok());
    return p;
  }

  // Everything readable: values, and the skipped ranges the reader crossed.
  static std::vector<std::string> Values(const PartitionLog* log, std::vector<LossEvent>* skipped) {
    std::vector<std::string> out;
    PartitionReader reader(log, log->earliest_offset(), 4096);
    RecordView v;
    Offset o;
    while (true) {
      auto more = reader.Next(&v, &o);
      EXPECT_TRUE(more.has_value()) << more.error().ToString();
      if (!more.has_value() || !*more) break;
      out.emplace_back(v.value);
    }
    if (skipped != nullptr) *skipped = reader.skipped();
    return out;
  }

  TempDir dir_;
};

LogOptions Small() {
  LogOptions o;
  o.segment_bytes = 4096;
  return o;
}

std::vector<std::string> NumberedValues(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back("v" + std::to_string(i));
  return v;
}

TEST_F(RepairTest, DamageInASealedSegmentIsReportedAndNothingChanges) {
  {
    auto log = PartitionLog::Open(Dir(), Small()).value();
    AppendValues(log.get(), NumberedValues(300));
  }
  const std::string first = Segments().front();
  const uint64_t at = DamageBatch(first, 40);
  const std::string before = ReadFileToString(first).value();
  // A reader stops at the damage with the command that gets past it.
  {
    auto log = PartitionLog::Open(Dir(), Small()).value();
    auto all = ReadAll(log.get());
    ASSERT_FALSE(all.has_value());
    EXPECT_NE(all.error().message().find(
                  "onceflow topics repair t --partition 0 --skip-damaged --data " + dir_.path()),
              std::string::npos)
        << all.error().message();
  }
  auto found = RepairPartition(Dir(), Small(), /*skip_damaged=*/false);
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  ASSERT_EQ(found->size(), 1U);
  EXPECT_EQ((*found)[0].first, Offset(40));
  EXPECT_EQ((*found)[0].last, Offset(40)) << "one one-record batch is damaged";
  EXPECT_EQ((*found)[0].byte, at);
  EXPECT_EQ((*found)[0].segment, fs::path(first).filename().string());
  EXPECT_EQ(ReadFileToString(first).value(), before);
  EXPECT_FALSE(PathExists(JoinPath(Dir(), kLossFileName)));
}

TEST_F(RepairTest, SkippedRangeIsRecordedAndReadersSkipExactlyIt) {
  {
    auto log = PartitionLog::Open(Dir(), Small()).value();
    AppendValues(log.get(), NumberedValues(300));
  }
  DamageBatch(Segments().front(), 40);
  auto found = RepairPartition(Dir(), Small(), /*skip_damaged=*/true);
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  ASSERT_EQ(found->size(), 1U);
  auto losses = ReadLosses(Dir()).value();
  ASSERT_EQ(losses.size(), 1U);
  EXPECT_EQ(losses[0].kind, LossKind::kSkipped);
  EXPECT_EQ(losses[0].first, Offset(40));
  EXPECT_EQ(losses[0].last, Offset(40));

  for (bool read_only : {false, true}) {
    SCOPED_TRACE(read_only);
    LogOptions o = Small();
    o.read_only = read_only;
    auto log = PartitionLog::Open(Dir(), o).value();
    std::vector<LossEvent> skipped;
    std::vector<std::string> values = Values(log.get(), &skipped);
    std::vector<std::string> expected = NumberedValues(300);
    expected.erase(expected.begin() + 40);
    EXPECT_EQ(values, expected);
    ASSERT_EQ(skipped.size(), 1U);
    EXPECT_EQ(skipped[0].first, Offset(40));
    // Reading from inside the range starts after it, identically every time.
    PartitionReader reader(log.get(), Offset(40));
    RecordView v;
    Offset off;
    ASSERT_TRUE(reader.Next(&v, &off).value());
    EXPECT_EQ(off, Offset(41));
    EXPECT_EQ(v.value, "v41");
    EXPECT_EQ(log->end_offset(), Offset(300));
  }
  // A second repair finds nothing, and the log takes appends at its end.
  auto again = RepairPartition(Dir(), Small(), /*skip_damaged=*/false);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_TRUE(again->empty());
  auto log = PartitionLog::Open(Dir(), Small()).value();
  EXPECT_EQ(AppendValues(log.get(), {"after"}), Offset(300));
}

TEST_F(RepairTest, DamageInTheActiveSegmentBeforeALaterGroupWriteCanBeSkipped) {
  {
    auto log = PartitionLog::Open(Dir(), LogOptions{}).value();
    AppendValues(log.get(), NumberedValues(20));
  }
  DamageBatch(Segments().back(), 5);
  auto refused = PartitionLog::Open(Dir(), LogOptions{});
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("onceflow topics repair t --partition 0 "
                                           "--skip-damaged"),
            std::string::npos)
      << refused.error().message();

  auto found = RepairPartition(Dir(), LogOptions{}, /*skip_damaged=*/true);
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  ASSERT_EQ(found->size(), 1U);
  EXPECT_EQ((*found)[0].first, Offset(5));
  EXPECT_EQ((*found)[0].last, Offset(5));
  auto log = PartitionLog::Open(Dir(), LogOptions{});
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  std::vector<LossEvent> skipped;
  std::vector<std::string> expected = NumberedValues(20);
  expected.erase(expected.begin() + 5);
  EXPECT_EQ(Values(log->get(), &skipped), expected);
  EXPECT_EQ(skipped.size(), 1U);
  EXPECT_EQ(AppendValues(log->get(), {"after"}), Offset(20));
  log->reset();
  auto reopened = PartitionLog::Open(Dir(), LogOptions{});
  ASSERT_TRUE(reopened.has_value()) << reopened.error().ToString();
  EXPECT_EQ(Values(reopened->get(), nullptr).back(), "after");
}

TEST_F(RepairTest, RepairInterruptedAfterRecordingTheRangeIsCompletedByTheNextOne) {
  {
    auto log = PartitionLog::Open(Dir(), Small()).value();
    AppendValues(log.get(), NumberedValues(300));
  }
  const std::string first = Segments().front();
  const uint64_t at = DamageBatch(first, 40);
  auto found = RepairPartition(Dir(), Small(), /*skip_damaged=*/false).value();
  ASSERT_EQ(found.size(), 1U);
  // The state a crash leaves after steps 1 and 2 of a split: the range recorded, the intact
  // batches after it copied into their own segment, the damaged segment not yet cut.
  const std::string bytes = ReadFileToString(first).value();
  const uint64_t resume = at + ParseBatchHeader(std::string_view(bytes).substr(at))->length;
  ASSERT_TRUE(AppendLoss(Dir(), found[0]).ok());
  ASSERT_TRUE(
      WriteFileAtomically(JoinPath(Dir(), MakeSegmentFileName(Offset(41), SegmentFileKind::kLog)),
                          std::string_view(bytes).substr(resume))
          .ok());
  auto stuck = PartitionLog::Open(Dir(), Small());
  ASSERT_FALSE(stuck.has_value());
  EXPECT_NE(stuck.error().message().find("onceflow topics repair t --partition 0 --skip-damaged"),
            std::string::npos)
      << stuck.error().message();

  auto again = RepairPartition(Dir(), Small(), /*skip_damaged=*/true);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(ReadLosses(Dir()).value().size(), 1U) << "the range is recorded once";
  auto log = PartitionLog::Open(Dir(), Small());
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  std::vector<std::string> expected = NumberedValues(300);
  expected.erase(expected.begin() + 40);
  EXPECT_EQ(Values(log->get(), nullptr), expected);
}

TEST_F(RepairTest, RepairIsRefusedWhileAWriterHasThePartitionOpen) {
  auto log = PartitionLog::Open(Dir(), LogOptions{}).value();
  AppendValues(log.get(), {"a"});
  auto found = RepairPartition(Dir(), LogOptions{}, /*skip_damaged=*/true);
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().code(), StatusCode::kBusy) << found.error().ToString();
}

}  // namespace
}  // namespace onceflow::log
