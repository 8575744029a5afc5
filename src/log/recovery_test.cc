// Recovery of a partition's log on open: torn tails are cut, damage elsewhere is corruption.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "log/log_test_util.h"
#include "log/partition_log.h"
#include "log/segment_name.h"

namespace onceflow::log {
namespace {

namespace fs = std::filesystem;
using testing::AppendValues;
using testing::ReadAll;
using testing::TempDir;

// The segment files of a partition directory, oldest first.
std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> out;
  const std::vector<std::string> names = ListDir(dir).value();
  for (const std::string& name : names) {
    auto parsed = ParseSegmentFileName(name);
    if (parsed && parsed->kind == SegmentFileKind::kLog) out.push_back(JoinPath(dir, name));
  }
  return out;
}

void Overwrite(const std::string& path, uint64_t at, std::string_view bytes) {
  auto f = File::Open(path, File::Mode::kReadWrite);
  ASSERT_TRUE(f.has_value());
  ASSERT_TRUE(f->WriteAt(at, bytes).ok());
}

void FlipByte(const std::string& path, uint64_t at) {
  auto f = File::Open(path, File::Mode::kReadWrite);
  ASSERT_TRUE(f.has_value());
  char c;
  ASSERT_EQ(f->ReadAt(at, 1, &c).value(), 1U);
  c ^= 0x20;
  ASSERT_TRUE(f->WriteAt(at, std::string_view(&c, 1)).ok());
}

class RecoveryTest : public ::testing::Test {
 protected:
  std::string Dir() const { return dir_.path() + "/p"; }
  TempDir dir_;
};

// Writes 20 one-record batches and returns the byte positions where each batch ends.
std::vector<uint64_t> WriteBatches(const std::string& dir, const LogOptions& o) {
  std::vector<uint64_t> ends;
  auto log = PartitionLog::Open(dir, o).value();
  for (int i = 0; i < 20; ++i) {
    AppendValues(log.get(), {"record-" + std::to_string(i) + std::string(i * 10, 'x')});
    ends.push_back(log->size_bytes());
  }
  return ends;
}

TEST_F(RecoveryTest, EveryTruncationPointInsideTheLastBatchRecoversToTheLastWholeBatch) {
  const std::string golden = dir_.path() + "/golden";
  std::vector<uint64_t> ends = WriteBatches(golden, LogOptions{});
  const uint64_t last_start = ends[ends.size() - 2], last_end = ends.back();
  for (uint64_t cut = last_start; cut < last_end; ++cut) {
    const std::string dir = dir_.path() + "/cut" + std::to_string(cut);
    fs::copy(golden, dir, fs::copy_options::recursive);
    ASSERT_EQ(::truncate(SegmentFiles(dir).back().c_str(), static_cast<off_t>(cut)), 0);
    auto log = PartitionLog::Open(dir, LogOptions{});
    ASSERT_TRUE(log.has_value()) << cut << ": " << log.error().ToString();
    EXPECT_EQ((*log)->end_offset(), Offset(19)) << cut;
    EXPECT_EQ((*log)->size_bytes(), last_start);
    EXPECT_EQ((*log)->recovered_torn_tail().empty(), cut == last_start) << cut;
    auto all = ReadAll(log->get());
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->size(), 19U);
    EXPECT_EQ(all->back().second.value, "record-18" + std::string(180, 'x'));
    // The next append takes the offset of the batch that was cut off.
    EXPECT_EQ(AppendValues(log->get(), {"again"}), Offset(19));
    fs::remove_all(dir);
  }
}

TEST_F(RecoveryTest, ZeroedOrGarbledTailIsCutOff) {
  const std::string golden = dir_.path() + "/golden";
  std::vector<uint64_t> ends = WriteBatches(golden, LogOptions{});
  const uint64_t last_start = ends[ends.size() - 2], last_end = ends.back();
  std::mt19937 rng(7);
  for (int variant = 0; variant < 2; ++variant) {
    // The batch's last byte is its header count, 0: zeroing only it changes nothing.
    for (uint64_t from = last_start; from < last_end - 1; from += 3) {
      const std::string dir = dir_.path() + "/v" + std::to_string(variant) + "-" +
                              std::to_string(from);
      fs::copy(golden, dir, fs::copy_options::recursive);
      std::string tail(last_end - from + 100, '\0');  // also past the end, as preallocation
      if (variant == 1) {
        for (char& c : tail) c = static_cast<char>(rng());
      }
      Overwrite(SegmentFiles(dir).back(), from, tail);
      auto log = PartitionLog::Open(dir, LogOptions{});
      ASSERT_TRUE(log.has_value()) << from << ": " << log.error().ToString();
      EXPECT_EQ((*log)->end_offset(), Offset(19)) << variant << " " << from;
      auto all = ReadAll(log->get());
      ASSERT_TRUE(all.has_value());
      EXPECT_EQ(all->size(), 19U);
      fs::remove_all(dir);
    }
  }
}

TEST_F(RecoveryTest, FlippedBitInASealedSegmentIsCorruptionNamingFileAndByte) {
  LogOptions o;
  o.segment_bytes = 4096;
  {
    auto log = PartitionLog::Open(Dir(), o).value();
    std::vector<std::string> values;
    for (int i = 0; i < 300; ++i) values.push_back("v" + std::to_string(i));
    AppendValues(log.get(), values);
  }
  const std::string first = SegmentFiles(Dir()).front();
  FlipByte(first, 1000);
  auto log = PartitionLog::Open(Dir(), o);
  ASSERT_TRUE(log.has_value()) << "a sealed segment is not rescanned on open";
  auto all = ReadAll(log->get());
  ASSERT_FALSE(all.has_value());
  EXPECT_TRUE(all.error().IsCorruption());
  EXPECT_NE(all.error().message().find(first), std::string::npos) << all.error().message();
  EXPECT_NE(all.error().message().find("at byte"), std::string::npos) << all.error().message();
  // Records in later segments are still readable.
  auto later = ReadAll(log->get(), (*log)->end_offset() - 5);
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->size(), 5U);
}

TEST_F(RecoveryTest, DamageInTheActiveSegmentBeforeMuchValidDataIsCorruption) {
  LogOptions o;
  o.segment_bytes = 64u << 20;
  {
    auto log = PartitionLog::Open(Dir(), o).value();
    const std::string value(8000, 'v');
    BatchBuilder b;
    for (int i = 0; i < 1000; ++i) {  // 8 MB: more than one group write after the damage
      b.Add(RecordView{std::nullopt, value, 1, {}});
      if (b.size_bytes() > 60000) ASSERT_TRUE(log->Append(b.Finish()).has_value());
    }
    ASSERT_TRUE(log->Append(b.Finish()).has_value());
  }
  const std::string active = SegmentFiles(Dir()).back();
  FlipByte(active, 100000);
  auto log = PartitionLog::Open(Dir(), o);
  ASSERT_FALSE(log.has_value());
  EXPECT_TRUE(log.error().IsCorruption());
  EXPECT_NE(log.error().message().find(active), std::string::npos) << log.error().message();
  // Nothing was truncated: the acknowledged data after the damage is still on disk.
  EXPECT_GT(fs::file_size(active), 8000000U);
}

TEST_F(RecoveryTest, ReadOnlyReaderReportsDamageInTheActiveSegment) {
  LogOptions o;
  o.segment_bytes = 64u << 20;
  auto writer = PartitionLog::Open(Dir(), o).value();
  const std::string value(8000, 'v');
  BatchBuilder b;
  for (int i = 0; i < 1000; ++i) {
    b.Add(RecordView{std::nullopt, value, 1, {}});
    if (b.size_bytes() > 60000) ASSERT_TRUE(writer->Append(b.Finish()).has_value());
  }
  FlipByte(SegmentFiles(Dir()).back(), 100000);
  LogOptions ro = o;
  ro.read_only = true;
  auto reader = PartitionLog::Open(Dir(), ro);
  ASSERT_FALSE(reader.has_value());
  EXPECT_TRUE(reader.error().IsCorruption()) << reader.error().ToString();
}

TEST_F(RecoveryTest, MissingOrDamagedIndexIsRebuilt) {
  LogOptions o;
  o.segment_bytes = 4096;
  o.index_interval_bytes = 200;
  {
    auto log = PartitionLog::Open(Dir(), o).value();
    std::vector<std::string> values;
    for (int i = 0; i < 400; ++i) values.push_back("v" + std::to_string(i));
    AppendValues(log.get(), values);
  }
  auto segs = SegmentFiles(Dir());
  ASSERT_GE(segs.size(), 3U);
  auto index_of = [](const std::string& log_path) {
    return log_path.substr(0, log_path.size() - 4) + ".index";
  };
  ASSERT_TRUE(RemoveFile(index_of(segs[0])).ok());
  FlipByte(index_of(segs[1]), 20);
  auto log = PartitionLog::Open(Dir(), o);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  EXPECT_TRUE(PathExists(index_of(segs[0])));
  for (int64_t from : {0, 17, 150, 399}) {
    auto rest = ReadAll(log->get(), Offset(from));
    ASSERT_TRUE(rest.has_value());
    ASSERT_EQ(static_cast<int64_t>(rest->size()), 400 - from);
    EXPECT_EQ(rest->front().second.value, "v" + std::to_string(from));
  }
}

TEST_F(RecoveryTest, WithoutDurabilityTheFirstInvalidBatchEndsTheLog) {
  LogOptions o;
  o.durability = Durability::kNone;
  std::vector<uint64_t> ends = WriteBatches(Dir(), o);
  FlipByte(SegmentFiles(Dir()).back(), ends[9] + 20);  // inside batch 10
  auto log = PartitionLog::Open(Dir(), o);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ((*log)->end_offset(), Offset(10));
}

TEST_F(RecoveryTest, PreallocatedSegmentsRecoverAfterRoll) {
  LogOptions o;
  o.segment_bytes = 64 * 1024;
  o.preallocate = true;
  {
    auto log = PartitionLog::Open(Dir(), o).value();
    std::vector<std::string> values;
    for (int i = 0; i < 3000; ++i) values.push_back("value-" + std::to_string(i));
    AppendValues(log.get(), values);
  }
  // The active segment was preallocated: its file is larger than its data.
  auto segs = SegmentFiles(Dir());
  ASSERT_GE(segs.size(), 2U);
  EXPECT_EQ(fs::file_size(segs.back()), 64U * 1024);
  auto log = PartitionLog::Open(Dir(), o);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  EXPECT_EQ((*log)->end_offset(), Offset(3000));
  EXPECT_TRUE((*log)->recovered_torn_tail().empty());
  auto all = ReadAll(log->get());
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 3000U);
}

}  // namespace
}  // namespace onceflow::log
