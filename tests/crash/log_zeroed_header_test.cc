// Recovery of an active segment in which a batch header reads as zeros while valid batches
// follow it: what a power loss leaves when the page holding a header was never written back
// but a later page of the same or an earlier write was (ext4 writes pages back in any order,
// and a preallocated segment is zeros before it is overwritten), or what a zeroed sector in
// the middle of acknowledged data looks like.
//
// Recovery takes a zero header for the end of the data (the start of preallocated space)
// without looking further, which these tests show is not enough.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "log/log_format.h"
#include "log/partition_log.h"
#include "log/partition_reader.h"
#include "log/record_batch.h"
#include "log/segment_name.h"
#include "testing/temp_dir.h"
#include "util/file.h"

namespace onceflow::log {
namespace {

class ZeroedHeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path();
    dir_ = JoinPath(root_, "p");
  }

  std::string SegmentPath(Offset base) const {
    return JoinPath(dir_, MakeSegmentFileName(base, SegmentFileKind::kLog));
  }

  static std::string OneRecordBatch(std::string_view value) {
    RecordView r;
    r.value = value;
    r.timestamp_ms = 1000;
    return EncodeBatch(std::span<const RecordView>(&r, 1));
  }

  static Result<std::vector<std::string>> Values(const PartitionLog* log) {
    std::vector<std::string> out;
    PartitionReader reader(log, Offset(0));
    RecordView v;
    Offset o;
    while (true) {
      ONCEFLOW_ASSIGN_OR_RETURN(bool more, reader.Next(&v, &o));
      if (!more) return out;
      out.emplace_back(v.value);
    }
  }

  ::onceflow::testing::TempDir tmp_{"zeroed-header"};
  std::string root_, dir_;
};

// A zeroed header in the middle of acknowledged data must be corruption, as any other damage
// followed by more than a torn write's worth of valid data is: instead recovery reports a clean
// end at the zeros, silently dropping every acknowledged record after them (and the next
// appends overwrite them).
TEST_F(ZeroedHeaderTest, ZeroedHeaderBeforeMuchAcknowledgedDataIsCorruption) {
  LogOptions o;
  o.segment_bytes = 64u << 20;
  o.preallocate = false;
  std::vector<uint64_t> starts;  // byte position of every batch
  Offset end;
  {
    auto log = PartitionLog::Open(dir_, o).value();
    const std::string value(60000, 'v');
    for (int i = 0; i < 150; ++i) {  // 9 MB: more than one group write after the damage
      starts.push_back(log->size_bytes());
      ASSERT_TRUE(log->Append(OneRecordBatch(value)).has_value());
    }
    end = log->end_offset();
  }
  {
    auto f = File::Open(SegmentPath(Offset(0)), File::Mode::kReadWrite);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(starts[10], std::string(kBatchHeaderSize, '\0')).ok());
  }
  auto log = PartitionLog::Open(dir_, o);
  ASSERT_FALSE(log.has_value() && (*log)->end_offset() < end)
      << "recovery dropped acknowledged offsets " << (*log)->end_offset().value() << " to "
      << end.value() - 1 << " without an error (torn tail: '" << (*log)->recovered_torn_tail()
      << "')";
  ASSERT_FALSE(log.has_value());
  EXPECT_TRUE(log.error().IsCorruption()) << log.error().ToString();
}

// Batches that recovery ruled out must stay out. Here a group write of two unacknowledged
// batches B1, B2 lost B1's page but kept B2's; recovery ends the log before B1. The next append
// C happens to be as long as B1, so B2 now directly follows the data: at the next open (a clean
// restart, no crash) B2 rejoins the log after C, although it was written before C and declared
// lost. Readers that already consumed up to C's end see a record appear from before the crash.
TEST_F(ZeroedHeaderTest, StaleBatchBehindAZeroedHeaderIsNotResurrected) {
  LogOptions o;
  o.preallocate = false;
  uint64_t data_end = 0;
  {
    auto log = PartitionLog::Open(dir_, o).value();
    ASSERT_EQ(log->Append(OneRecordBatch("acked-a")).value(), Offset(0));
    data_end = log->size_bytes();
  }
  // The torn group write: B1 (offset 1) never reached the disk, B2 (offset 2) did.
  std::string b1 = OneRecordBatch("lost-b1");
  std::string b2 = OneRecordBatch("stale-b2");
  SetBaseOffset(b1.data(), Offset(1));
  SetBaseOffset(b2.data(), Offset(2));
  {
    auto f = File::Open(SegmentPath(Offset(0)), File::Mode::kReadWrite);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(data_end, std::string(b1.size(), '\0') + b2).ok());
  }
  {
    auto log = PartitionLog::Open(dir_, o).value();
    ASSERT_EQ(log->end_offset().value(), 1) << "B1 and B2 were never acknowledged";
    // C is exactly as long as B1.
    ASSERT_EQ(log->Append(OneRecordBatch("after-c")).value(), Offset(1));
    ASSERT_EQ(log->end_offset(), Offset(2));
    ASSERT_EQ(Values(log.get()).value(), (std::vector<std::string>{"acked-a", "after-c"}));
  }
  auto log = PartitionLog::Open(dir_, o).value();
  EXPECT_EQ(log->end_offset().value(), 2) << "a clean restart changed the end of the log";
  EXPECT_EQ(Values(log.get()).value(), (std::vector<std::string>{"acked-a", "after-c"}));
}

}  // namespace
}  // namespace onceflow::log
