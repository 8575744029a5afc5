// Recovery of a partition's log on open: torn tails are cut, damage elsewhere is corruption.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "log/log_format.h"
#include "log/log_test_util.h"
#include "log/loss_record.h"
#include "log/partition_log.h"
#include "log/partition_reader.h"
#include "log/record_batch.h"
#include "log/segment_name.h"
#include "util/coding.h"
#include "util/crc32c.h"

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

  // Segments of 4 KiB: a few hundred small records fill several.
  static LogOptions SmallSegments() {
    LogOptions o;
    o.segment_bytes = 4096;
    return o;
  }
  // Appends the values v0..v299 to the partition at Dir(): sealed segments and an active one.
  void WriteSealedSegments(const LogOptions& o) {
    auto log = PartitionLog::Open(Dir(), o).value();
    std::vector<std::string> values;
    for (int i = 0; i < 300; ++i) values.push_back("v" + std::to_string(i));
    AppendValues(log.get(), values);
  }
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
      const std::string dir =
          dir_.path() + "/v" + std::to_string(variant) + "-" + std::to_string(from);
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
  const LogOptions o = SmallSegments();
  WriteSealedSegments(o);
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
      if (b.size_bytes() > 60000) {
        ASSERT_TRUE(log->Append(b.Finish()).has_value());
      }
    }
    if (!b.empty()) ASSERT_TRUE(log->Append(b.Finish()).has_value());
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

// Builds one-record batches by hand, as a log writes them: `starts[i]` says whether batch i
// starts a group write. `v1` writes format-1 batches (no group marks).
std::string HandWrittenSegment(const std::vector<bool>& starts, std::vector<uint64_t>* positions,
                               bool v1 = false) {
  std::string file;
  for (size_t i = 0; i < starts.size(); ++i) {
    RecordView r;
    const std::string value = "hand-" + std::to_string(i) + std::string(100, 'h');
    r.value = value;
    r.timestamp_ms = 1000;
    std::string b = EncodeBatch(std::span<const RecordView>(&r, 1));
    if (v1) {
      b[kMagicPos] = static_cast<char>(kMagicV1);
      coding::EncodeFixed32(b.data() + kCrcPos,
                            crc32c::Value(b.data() + kCrcStart, b.size() - kCrcStart));
    } else if (starts[i]) {
      MarkGroupStart(std::span<char>(b.data(), b.size()));
    }
    SetBaseOffset(b.data(), Offset(static_cast<int64_t>(i)));
    positions->push_back(file.size());
    file += b;
  }
  return file;
}

TEST_F(RecoveryTest, TornTailIsRecordedAndReportedWithItsOffsets) {
  std::vector<uint64_t> ends = WriteBatches(Dir(), LogOptions{});
  const uint64_t last_start = ends[ends.size() - 2];
  const std::string segment = SegmentFiles(Dir()).back();
  ASSERT_EQ(::truncate(segment.c_str(), static_cast<off_t>(ends.back() - 3)), 0);
  std::vector<LossEvent> reported;
  LogOptions o;
  o.on_loss = [&](const LossEvent& e) { reported.push_back(e); };
  auto log = PartitionLog::Open(Dir(), o);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  ASSERT_EQ(reported.size(), 1U);
  const LossEvent& e = reported[0];
  EXPECT_EQ(e.kind, LossKind::kTornTail);
  EXPECT_EQ(e.segment, fs::path(segment).filename().string());
  EXPECT_EQ(e.byte, last_start);
  EXPECT_EQ(e.first, Offset(19));
  EXPECT_EQ(e.last, Offset(19));
  EXPECT_NE(e.Describe().find("offset 19 lost"), std::string::npos) << e.Describe();
  EXPECT_NE(e.Describe().find(segment + " byte " + std::to_string(last_start)), std::string::npos)
      << e.Describe();
  // Durably recorded: a later open (and a read-only one) still knows.
  log->reset();
  LogOptions ro;
  ro.read_only = true;
  auto reader = PartitionLog::Open(Dir(), ro).value();
  ASSERT_EQ(reader->losses().size(), 1U);
  EXPECT_EQ(reader->losses()[0].first, Offset(19));
  EXPECT_EQ(reader->losses()[0].byte, last_start);
  auto stored = ReadLosses(Dir()).value();
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored[0].last, Offset(19));
}

TEST_F(RecoveryTest, TornTailWithAnUnreadableHeaderIsReportedFromItsFirstOffset) {
  std::vector<uint64_t> ends = WriteBatches(Dir(), LogOptions{});
  const uint64_t last_start = ends[ends.size() - 2];
  ASSERT_EQ(::truncate(SegmentFiles(Dir()).back().c_str(), static_cast<off_t>(last_start + 10)), 0);
  std::vector<LossEvent> reported;
  LogOptions o;
  o.on_loss = [&](const LossEvent& e) { reported.push_back(e); };
  auto log = PartitionLog::Open(Dir(), o).value();
  ASSERT_EQ(reported.size(), 1U);
  EXPECT_FALSE(reported[0].last_known());
  EXPECT_EQ(reported[0].first, Offset(19));
  EXPECT_NE(reported[0].Describe().find("offsets from 19 on"), std::string::npos)
      << reported[0].Describe();
}

TEST_F(RecoveryTest, WithoutATornTailNothingIsRecorded) {
  WriteBatches(Dir(), LogOptions{});
  int reported = 0;
  LogOptions o;
  o.on_loss = [&](const LossEvent&) { ++reported; };
  auto log = PartitionLog::Open(Dir(), o).value();
  EXPECT_EQ(reported, 0);
  EXPECT_TRUE(log->losses().empty());
  EXPECT_FALSE(PathExists(JoinPath(Dir(), kLossFileName)));
}

// Each append below is its own group write: a flipped byte in batch 15 is followed by batches
// of later group writes, which were written only after batch 15's fdatasync returned. Its
// bytes were durable: damage, not a torn write, although it is far inside the last 4 MiB.
TEST_F(RecoveryTest, FlippedByteBeforeALaterGroupWriteIsCorruptionNotATornTail) {
  std::vector<uint64_t> ends = WriteBatches(Dir(), LogOptions{});
  const std::string segment = SegmentFiles(Dir()).back();
  const uint64_t size = fs::file_size(segment);
  FlipByte(segment, ends[14] + 45);  // inside batch 15's records
  auto log = PartitionLog::Open(Dir(), LogOptions{});
  ASSERT_FALSE(log.has_value()) << "acknowledged batches 15..19 were cut as a torn tail";
  EXPECT_TRUE(log.error().IsCorruption()) << log.error().ToString();
  const std::string m = log.error().message();
  EXPECT_NE(m.find(segment), std::string::npos) << m;
  EXPECT_NE(m.find("at byte " + std::to_string(ends[14])), std::string::npos) << m;
  EXPECT_NE(m.find("offset 15 on is damaged"), std::string::npos) << m;
  EXPECT_NE(m.find("later group write"), std::string::npos) << m;
  EXPECT_EQ(fs::file_size(segment), size) << "nothing may be cut";
  EXPECT_FALSE(PathExists(JoinPath(Dir(), kLossFileName)));
}

TEST_F(RecoveryTest, OnlyTheLastGroupWriteIsCutAsATornTail) {
  // Groups: {0}, {1, 2, 3}. Damage in batch 1 (the last group's first batch, its later batches
  // intact) is a torn write: offsets 1..3 are cut. Damage in batch 0 is followed by the start
  // of group {1, 2, 3}: corruption.
  for (int damaged : {0, 1}) {
    SCOPED_TRACE(damaged);
    const std::string dir = dir_.path() + "/g" + std::to_string(damaged);
    ASSERT_TRUE(CreateDirs(dir).ok());
    std::vector<uint64_t> pos;
    std::string bytes = HandWrittenSegment({true, true, false, false}, &pos);
    bytes[pos[static_cast<size_t>(damaged)] + 50] ^= 0x11;
    const std::string path = JoinPath(dir, MakeSegmentFileName(Offset(0), SegmentFileKind::kLog));
    ASSERT_TRUE(WriteFileAtomically(path, bytes).ok());
    std::vector<LossEvent> reported;
    LogOptions o;
    o.on_loss = [&](const LossEvent& e) { reported.push_back(e); };
    auto log = PartitionLog::Open(dir, o);
    if (damaged == 0) {
      ASSERT_FALSE(log.has_value());
      EXPECT_TRUE(log.error().IsCorruption());
      EXPECT_EQ(fs::file_size(path), bytes.size());
      continue;
    }
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    EXPECT_EQ((*log)->end_offset(), Offset(1));
    ASSERT_EQ(reported.size(), 1U);
    EXPECT_EQ(reported[0].first, Offset(1));
    EXPECT_EQ(reported[0].last, Offset(3));
    EXPECT_EQ(reported[0].byte, pos[1]);
  }
}

TEST_F(RecoveryTest, AppendsMarkTheFirstBatchOfEachGroupWrite) {
  WriteBatches(Dir(), LogOptions{});
  auto bytes = ReadFileToString(SegmentFiles(Dir()).back()).value();
  size_t p = 0;
  int batches = 0;
  while (p < bytes.size()) {
    auto h = ParseBatchHeader(std::string_view(bytes).substr(p)).value();
    EXPECT_EQ(h.magic, kMagicV2);
    EXPECT_TRUE(h.starts_group()) << "one append alone is a group of its own";
    ASSERT_TRUE(BatchView::Parse(std::string_view(bytes).substr(p, h.length)).has_value());
    p += h.length;
    ++batches;
  }
  EXPECT_EQ(batches, 20);
}

TEST_F(RecoveryTest, VersionOneSegmentsKeepTheWindowRule) {
  // Format-1 batches carry no group marks: damage with less than one group write of valid data
  // after it is still taken for a torn tail, as before version 2.
  ASSERT_TRUE(CreateDirs(Dir()).ok());
  std::vector<uint64_t> pos;
  std::string bytes = HandWrittenSegment({true, true, true, true}, &pos, /*v1=*/true);
  bytes[pos[1] + 50] ^= 0x11;
  ASSERT_TRUE(WriteFileAtomically(
                  JoinPath(Dir(), MakeSegmentFileName(Offset(0), SegmentFileKind::kLog)), bytes)
                  .ok());
  auto log = PartitionLog::Open(Dir(), LogOptions{});
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  EXPECT_EQ((*log)->end_offset(), Offset(1));
  // And a version-1 log takes version-2 appends after its old batches.
  EXPECT_EQ(AppendValues(log->get(), {"new"}), Offset(1));
  log->reset();
  auto again = PartitionLog::Open(Dir(), LogOptions{}).value();
  auto all = ReadAll(again.get()).value();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[1].second.value, "new");
}

TEST_F(RecoveryTest, DamagedSealedSegmentIsReadableUpToTheDamage) {
  const LogOptions o = SmallSegments();
  WriteSealedSegments(o);
  const std::string first = SegmentFiles(Dir()).front();
  // Find batch 40 of the first segment and flip a byte of its value.
  auto bytes = ReadFileToString(first).value();
  size_t p = 0;
  for (int i = 0; i < 40; ++i) p += ParseBatchHeader(std::string_view(bytes).substr(p))->length;
  FlipByte(first, p + kBatchHeaderSize + 4);
  auto log = PartitionLog::Open(Dir(), o).value();
  std::vector<std::string> got;
  PartitionReader reader(log.get(), Offset(0), 1u << 20);
  RecordView v;
  Offset off;
  Status error;
  while (true) {
    auto more = reader.Next(&v, &off);
    if (!more.has_value()) {
      error = more.error();
      break;
    }
    if (!*more) break;
    got.emplace_back(v.value);
  }
  ASSERT_EQ(got.size(), 40U) << "every record before the damaged batch is readable";
  EXPECT_EQ(got.back(), "v39");
  ASSERT_TRUE(error.IsCorruption()) << error.ToString();
  EXPECT_NE(error.message().find(first), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("at byte " + std::to_string(p)), std::string::npos)
      << error.message();
  EXPECT_NE(error.message().find("(offset 40)"), std::string::npos) << error.message();
}

}  // namespace
}  // namespace onceflow::log
