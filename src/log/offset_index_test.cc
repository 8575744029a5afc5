#include "log/offset_index.h"

#include <gtest/gtest.h>

namespace onceflow::log {
namespace {

TEST(OffsetIndexTest, LookupFindsGreatestEntryAtOrBelow) {
  OffsetIndex index(Offset(100));
  index.Add(Offset(110), 4096);
  index.Add(Offset(125), 8200);
  EXPECT_EQ(index.Lookup(Offset(100)).position, 0U);
  EXPECT_EQ(index.Lookup(Offset(109)).position, 0U);
  EXPECT_EQ(index.Lookup(Offset(110)).position, 4096U);
  EXPECT_EQ(index.Lookup(Offset(124)).offset, Offset(110));
  EXPECT_EQ(index.Lookup(Offset(1000)).offset, Offset(125));
}

TEST(OffsetIndexTest, EncodeDecodeRoundTrip) {
  OffsetIndex index(Offset(7));
  index.Add(Offset(9), 5000);
  index.Add(Offset(20), 9100);
  SegmentSummary in{Offset(7), Offset(30), 12000, 1700000000000};
  std::string bytes = index.Encode(in);
  SegmentSummary out;
  auto decoded = OffsetIndex::Decode(bytes, &out);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(out.base_offset, Offset(7));
  EXPECT_EQ(out.next_offset, Offset(30));
  EXPECT_EQ(out.data_end, 12000U);
  EXPECT_EQ(out.max_timestamp, 1700000000000);
  EXPECT_EQ(decoded->Lookup(Offset(25)).position, 9100U);
}

TEST(OffsetIndexTest, DamagedFileIsCorruption) {
  OffsetIndex index(Offset(0));
  index.Add(Offset(3), 4096);
  std::string bytes = index.Encode({Offset(0), Offset(5), 5000, 0});
  SegmentSummary s;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x10;
    EXPECT_FALSE(OffsetIndex::Decode(bad, &s).has_value()) << i;
  }
  EXPECT_FALSE(OffsetIndex::Decode(bytes.substr(0, bytes.size() - 1), &s).has_value());
}

}  // namespace
}  // namespace onceflow::log
