#include "sink/sink.h"

#include <gtest/gtest.h>

namespace onceflow::sink {
namespace {

TaskRange R(int32_t p, int64_t from, int64_t until) {
  return {PartitionId(p), Offset(from), Offset(until)};
}

TEST(RangesTest, EncodeAndDecodeRoundTrip) {
  const std::vector<TaskRange> ranges = {R(0, 10, 20), R(1, 5, 7), R(12, 0, 0),
                                         R(3, 0, 9223372036854775807)};
  const std::string text = EncodeRanges(ranges);
  EXPECT_EQ(text, "0:10-20,1:5-7,12:0-0,3:0-9223372036854775807");
  auto decoded = DecodeRanges(text);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, ranges);
}

TEST(RangesTest, EmptyTextIsNoRanges) {
  EXPECT_EQ(EncodeRanges({}), "");
  auto decoded = DecodeRanges("");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->empty());
}

TEST(RangesTest, MalformedTextIsRefused) {
  for (const char* text :
       {"0", "0:1", "0:1-", ":1-2", "0:-2", "a:1-2", "-1:1-2", "0:-1-2", "0:1--2", "0:+1-2",
        "+0:1-2", "0:5-3", "0:1-2,", ",0:1-2", "0:1-2,,1:1-2", " 0:1-2", "0:1-2 ", "0:1-2;1:2-3",
        "0:1-2,0:2-3", "2147483648:1-2", "0:1-99999999999999999999", "0:1-2x", "0x1:1-2"}) {
    auto decoded = DecodeRanges(text);
    EXPECT_FALSE(decoded.has_value()) << "'" << text << "' was accepted";
    if (!decoded.has_value()) {
      EXPECT_TRUE(decoded.error().IsInvalidArgument()) << text;
      EXPECT_NE(decoded.error().message().find(text), std::string::npos)
          << decoded.error().message();
    }
  }
}

TEST(RangesTest, ErrorNamesTheBadItem) {
  auto decoded = DecodeRanges("0:1-2,1:9-3");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_NE(decoded.error().message().find("'1:9-3' ends before it starts"), std::string::npos)
      << decoded.error().message();
  decoded = DecodeRanges("0:1-2,0:2-3");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_NE(decoded.error().message().find("repeats partition 0"), std::string::npos)
      << decoded.error().message();
}

}  // namespace
}  // namespace onceflow::sink
