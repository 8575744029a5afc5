// The published durable end: its slots, and read-only openers (as another process would open
// the partition) that never see a group commit before its fdatasync, nor past the end after a
// restart that cut a torn tail.
#include "log/durable_end.h"

#include <gtest/gtest.h>

#include <thread>

#include "log/log_test_util.h"
#include "log/partition_log.h"
#include "log/segment_name.h"
#include "util/fault_points.h"

namespace onceflow::log {
namespace {

using testing::AppendValues;
using testing::ReadAll;
using testing::TempDir;

std::vector<std::string> Values(int n, const std::string& prefix) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

// The values of a read, in offset order, checked to start at 0 with no gap.
std::vector<std::string> ReadValues(const PartitionLog* log) {
  auto all = ReadAll(log);
  EXPECT_TRUE(all.has_value()) << all.error().ToString();
  std::vector<std::string> out;
  if (!all.has_value()) return out;
  for (const auto& [offset, record] : *all) {
    EXPECT_EQ(offset, Offset(static_cast<int64_t>(out.size())));
    out.push_back(record.value);
  }
  return out;
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(DurableSlotTest, RoundTripsAndRefusesATornSlot) {
  const std::string slot = EncodeDurableSlot({Offset(123456789012), 7});
  ASSERT_EQ(slot.size(), kDurableSlotSize);
  std::optional<DurableSlot> back = ParseDurableSlot(slot);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->end, Offset(123456789012));
  EXPECT_EQ(back->seq, 7U);
  // A slot caught mid-write (any byte from the next value) fails its checksum.
  const std::string next = EncodeDurableSlot({Offset(123456789099), 9});
  for (size_t i = 0; i < kDurableSlotSize; ++i) {
    std::string torn = slot.substr(0, i) + next.substr(i);
    if (torn == next) continue;
    EXPECT_FALSE(ParseDurableSlot(torn).has_value()) << "torn at byte " << i;
  }
  EXPECT_FALSE(ParseDurableSlot(std::string(kDurableSlotSize, '\0')).has_value());
}

TEST(DurableSlotTest, TheNewerValidSlotWinsAcrossSequenceWrapAround) {
  auto file = [](const std::string& a, const std::string& b) { return a + b; };
  const std::string s5 = EncodeDurableSlot({Offset(50), 5});
  const std::string s6 = EncodeDurableSlot({Offset(60), 6});
  EXPECT_EQ(NewestDurableSlot(file(s6, s5))->end, Offset(60));
  EXPECT_EQ(NewestDurableSlot(file(s5, s6))->end, Offset(60));
  const std::string last = EncodeDurableSlot({Offset(70), 0xffffffffU});
  const std::string wrapped = EncodeDurableSlot({Offset(80), 0});
  EXPECT_EQ(NewestDurableSlot(file(wrapped, last))->end, Offset(80));
  // One slot torn: the other, older value (never above what is durable).
  std::string torn = s6;
  torn[3] ^= 1;
  EXPECT_EQ(NewestDurableSlot(file(s5, torn))->end, Offset(50));
  EXPECT_FALSE(NewestDurableSlot(file(torn, torn)).has_value());
}

class DurableEndTest : public ::testing::Test {
 protected:
  void TearDown() override { faults::DisarmAll(); }

  std::string Dir() const { return dir_.path() + "/p"; }

  std::unique_ptr<PartitionLog> Open(bool read_only, LogOptions options = {}) {
    options.read_only = read_only;
    auto log = PartitionLog::Open(Dir(), options);
    EXPECT_TRUE(log.has_value()) << log.error().ToString();
    return log.has_value() ? std::move(*log) : nullptr;
  }

  // The newest valid value in the DURABLE file.
  Offset Published() {
    auto bytes = ReadFileToString(JoinPath(Dir(), kDurableEndName));
    EXPECT_TRUE(bytes.has_value());
    std::optional<DurableSlot> slot = bytes ? NewestDurableSlot(*bytes) : std::nullopt;
    EXPECT_TRUE(slot.has_value());
    return slot ? slot->end : Offset(-1);
  }

  uint64_t SegmentSize(Offset base = Offset(0)) {
    auto size = FileSize(JoinPath(Dir(), MakeSegmentFileName(base, SegmentFileKind::kLog)));
    return size.value_or(0);
  }

  static Result<uint64_t> FileSize(const std::string& path) {
    ONCEFLOW_ASSIGN_OR_RETURN(File f, File::Open(path, File::Mode::kReadOnly));
    return f.Size();
  }

  TempDir dir_;
};

TEST_F(DurableEndTest, ReaderDoesNotSeeAGroupWrittenButNotYetSynced) {
  auto writer = Open(false);
  const std::vector<std::string> synced = Values(5, "synced-");
  ASSERT_EQ(AppendValues(writer.get(), synced), Offset(0));
  EXPECT_EQ(Published(), Offset(5));
  const uint64_t before = SegmentSize();

  // The next group commit stops between its write and its fdatasync.
  ASSERT_TRUE(faults::Arm("log_before_sync=pause").ok());
  Result<Offset> appended = Err(Status::Aborted("not appended"));
  std::thread appender([&] {
    Record r;
    r.value = "unsynced";
    r.timestamp_ms = 1;
    appended = writer->Append(testing::Encode({r}));
  });
  faults::WaitPaused("log_before_sync");
  // The batch is in the segment file (what a reader scanning the files would find)...
  EXPECT_GT(SegmentSize(), before);
  EXPECT_EQ(Published(), Offset(5));

  // ...and a read-only opener, as another process, neither opens nor refreshes past the sync.
  auto reader = Open(true);
  EXPECT_EQ(reader->end_offset(), Offset(5));
  EXPECT_EQ(ReadValues(reader.get()), synced);
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(reader->end_offset(), Offset(5));
  EXPECT_EQ(reader->WaitForMore(Offset(5), std::chrono::milliseconds(0)), Offset(5));
  EXPECT_EQ(ReadValues(reader.get()), synced);
  auto read = reader->Read(Offset(5), 1 << 20);
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->batches.empty());

  // Right after the sync it is there, for the reader open since and for a new one.
  faults::Release("log_before_sync");
  appender.join();
  ASSERT_TRUE(appended.has_value()) << appended.error().ToString();
  EXPECT_EQ(*appended, Offset(5));
  EXPECT_EQ(Published(), Offset(6));
  EXPECT_EQ(reader->WaitForMore(Offset(5), std::chrono::minutes(5)), Offset(6));
  const std::vector<std::string> all = Concat(synced, {"unsynced"});
  EXPECT_EQ(ReadValues(reader.get()), all);
  EXPECT_EQ(ReadValues(Open(true).get()), all);
}

TEST_F(DurableEndTest, ReaderStopsAtThePublishedEndAcrossSealedSegments) {
  LogOptions small;
  small.segment_bytes = 4096;
  small.index_interval_bytes = 256;
  const std::vector<std::string> values = Values(300, "value-with-some-length-");
  auto writer = Open(false, small);
  ASSERT_EQ(AppendValues(writer.get(), values), Offset(0));
  ASSERT_GT(writer->segment_count(), 3U);
  // A reader that read the end while the writer was at 37, then found the files of later groups
  // and rolls: the end it read bounds it, in sealed segments too. (The writer stays open: a
  // reader that finds no writer reads what it left, below.)
  ASSERT_TRUE(DurableEndWriter::Open(Dir(), Offset(37)).has_value());
  auto reader = Open(true, small);
  EXPECT_EQ(reader->end_offset(), Offset(37));
  EXPECT_EQ(ReadValues(reader.get()),
            std::vector<std::string>(values.begin(), values.begin() + 37));
  ASSERT_TRUE(DurableEndWriter::Open(Dir(), Offset(211)).has_value());
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(reader->end_offset(), Offset(211));
  EXPECT_EQ(ReadValues(reader.get()),
            std::vector<std::string>(values.begin(), values.begin() + 211));
  ASSERT_TRUE(DurableEndWriter::Open(Dir(), Offset(300)).has_value());
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(ReadValues(reader.get()), values);
  EXPECT_EQ(ReadValues(Open(true, small).get()), values);
}

TEST_F(DurableEndTest, WithNoWriterAliveAReaderReadsAndSyncsWhatTheLastWriterLeft) {
  LogOptions small;
  small.segment_bytes = 4096;
  const std::vector<std::string> values = Values(120, "value-with-some-length-");
  {
    auto writer = Open(false, small);
    ASSERT_EQ(AppendValues(writer.get(), values), Offset(0));
  }
  // DURABLE is never synced: after a machine crash it may hold an older value than the data
  // that was synced. With no writer alive, a reader trusts the data (after syncing it itself),
  // so that `verify` and `status` after a machine crash see every synced intent and commit.
  ASSERT_TRUE(DurableEndWriter::Open(Dir(), Offset(3)).has_value());
  auto reader = Open(true, small);
  EXPECT_EQ(reader->end_offset(), Offset(120));
  EXPECT_EQ(ReadValues(reader.get()), values);
  // Once a writer holds the partition again, its published end rules.
  auto writer = Open(false, small);
  EXPECT_EQ(Published(), Offset(120));
  ASSERT_TRUE(faults::Arm("log_before_sync=pause").ok());
  std::thread appender([&] { (void)AppendValues(writer.get(), {"unsynced"}); });
  faults::WaitPaused("log_before_sync");
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(reader->end_offset(), Offset(120));
  EXPECT_EQ(Open(true, small)->end_offset(), Offset(120));
  faults::Release("log_before_sync");
  appender.join();
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(reader->end_offset(), Offset(121));
}

TEST_F(DurableEndTest, RestartThatCutsATornTailPublishesNoMoreThanTheNewEnd) {
  const std::vector<std::string> synced = Values(8, "synced-");
  {
    auto writer = Open(false);
    ASSERT_EQ(AppendValues(writer.get(), synced), Offset(0));
  }
  // A group write torn by a crash: half a batch after the synced ones, and (as a writer with
  // durability = none may leave after a machine crash) a published end above the data.
  const uint64_t end = SegmentSize();
  {
    Record r;
    r.value = "torn";
    r.timestamp_ms = 1;
    std::string batch = testing::Encode({r});
    auto f = File::Open(JoinPath(Dir(), MakeSegmentFileName(Offset(0), SegmentFileKind::kLog)),
                        File::Mode::kReadWrite);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(end, std::string_view(batch).substr(0, batch.size() / 2)).ok());
  }
  ASSERT_TRUE(DurableEndWriter::Open(Dir(), Offset(12)).has_value());

  auto writer = Open(false);
  EXPECT_FALSE(writer->recovered_torn_tail().empty());
  EXPECT_EQ(writer->end_offset(), Offset(8));
  EXPECT_EQ(SegmentSize(), end);
  EXPECT_EQ(Published(), Offset(8)) << "the published end is not above the new end";
  auto reader = Open(true);
  EXPECT_EQ(reader->end_offset(), Offset(8));
  EXPECT_EQ(ReadValues(reader.get()), synced);
  // The offsets of the cut tail are handed out again, and readers see them once durable.
  ASSERT_EQ(AppendValues(writer.get(), {"after-restart"}), Offset(8));
  EXPECT_EQ(Published(), Offset(9));
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(ReadValues(reader.get()), Concat(synced, {"after-restart"}));
}

TEST_F(DurableEndTest, ReaderIsToldWhenRecordsItSawAreLost) {
  // durability = none: "durable" is "written to the OS", which a machine crash can take back.
  LogOptions none;
  none.durability = Durability::kNone;
  {
    auto writer = Open(false, none);
    ASSERT_EQ(AppendValues(writer.get(), Values(6, "v-")), Offset(0));
  }
  auto reader = Open(true, none);
  ASSERT_EQ(reader->end_offset(), Offset(6));
  // The machine crashed: the last two batches are gone, and a writer reopens at 4.
  {
    auto f = File::Open(JoinPath(Dir(), MakeSegmentFileName(Offset(0), SegmentFileKind::kLog)),
                        File::Mode::kReadWrite);
    ASSERT_TRUE(f.has_value());
    auto batch = testing::Encode({Record{std::nullopt, "v-0", 1000, {}}});
    ASSERT_TRUE(f->Truncate(SegmentSize() - 2 * batch.size()).ok());
  }
  auto writer = Open(false, none);
  ASSERT_EQ(writer->end_offset(), Offset(4));
  EXPECT_EQ(Published(), Offset(4));
  Status refreshed = reader->Refresh();
  EXPECT_TRUE(refreshed.IsCorruption()) << refreshed.ToString();
  EXPECT_NE(refreshed.message().find("below offset 6 that this reader already saw"),
            std::string::npos)
      << refreshed.ToString();
}

TEST_F(DurableEndTest, LogWithoutADurableFileIsReadToItsEndUntilAWriterOpensIt) {
  const std::vector<std::string> old = Values(5, "old-");
  {
    auto writer = Open(false);
    ASSERT_EQ(AppendValues(writer.get(), old), Offset(0));
  }
  // As an older onceflow left it.
  ASSERT_TRUE(RemoveFile(JoinPath(Dir(), kDurableEndName)).ok());
  auto reader = Open(true);
  EXPECT_EQ(ReadValues(reader.get()), old);

  // A writer of this version publishes the end at open, before its first append: the reader
  // open since stops there while the next group is written but not synced.
  auto writer = Open(false);
  EXPECT_EQ(Published(), Offset(5));
  ASSERT_TRUE(faults::Arm("log_before_sync=pause").ok());
  std::thread appender([&] { (void)AppendValues(writer.get(), {"unsynced"}); });
  faults::WaitPaused("log_before_sync");
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(reader->end_offset(), Offset(5));
  EXPECT_EQ(ReadValues(Open(true).get()), old);
  faults::Release("log_before_sync");
  appender.join();
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(ReadValues(reader.get()), Concat(old, {"unsynced"}));
}

}  // namespace
}  // namespace onceflow::log
