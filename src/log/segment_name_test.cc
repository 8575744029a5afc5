#include "log/segment_name.h"

#include <gtest/gtest.h>

namespace onceflow::log {
namespace {

TEST(SegmentNameTest, MakeAndParseRoundTrip) {
  for (int64_t base : {int64_t{0}, int64_t{42}, int64_t{9223372036854775807}}) {
    for (auto kind : {SegmentFileKind::kLog, SegmentFileKind::kIndex}) {
      std::string name = MakeSegmentFileName(Offset(base), kind);
      auto parsed = ParseSegmentFileName(name);
      ASSERT_TRUE(parsed.has_value()) << name;
      EXPECT_EQ(parsed->base_offset, Offset(base));
      EXPECT_EQ(parsed->kind, kind);
    }
  }
  EXPECT_EQ(MakeSegmentFileName(Offset(1234), SegmentFileKind::kLog), "00000000000000001234.log");
}

TEST(SegmentNameTest, NamesSortAsOffsets) {
  EXPECT_LT(MakeSegmentFileName(Offset(99), SegmentFileKind::kLog),
            MakeSegmentFileName(Offset(100), SegmentFileKind::kLog));
}

TEST(SegmentNameTest, OtherNamesAreNotSegments) {
  for (const char* name : {"LOCK", "next.prealloc", "1234.log", "0000000000000000123x.log",
                           "00000000000000001234.log.tmp", "99999999999999999999.log"}) {
    EXPECT_FALSE(ParseSegmentFileName(name).has_value()) << name;
  }
}

}  // namespace
}  // namespace onceflow::log
