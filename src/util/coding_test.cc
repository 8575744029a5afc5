#include "util/coding.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace onceflow::coding {

TEST(CodingTest, VarintRoundTrip) {
  const uint64_t values[] = {0, 1, 127, 128, 300, 1ULL << 32, std::numeric_limits<uint64_t>::max()};
  for (uint64_t v : values) {
    std::string s;
    PutVarint64(&s, v);
    EXPECT_EQ(static_cast<int>(s.size()), VarintLength(v));
    uint64_t out = 0;
    const char* end = DecodeVarint64(s.data(), s.data() + s.size(), &out);
    ASSERT_NE(end, nullptr);
    EXPECT_EQ(end, s.data() + s.size());
    EXPECT_EQ(out, v);
  }
}

TEST(CodingTest, TruncatedVarintIsRejected) {
  std::string s;
  PutVarint64(&s, 1ULL << 40);
  uint64_t out = 0;
  EXPECT_EQ(DecodeVarint64(s.data(), s.data() + s.size() - 1, &out), nullptr);
}

TEST(CodingTest, OverlongVarintIsRejected) {
  std::string s(11, '\xff');
  uint64_t out = 0;
  EXPECT_EQ(DecodeVarint64(s.data(), s.data() + s.size(), &out), nullptr);
}

TEST(CodingTest, ZigZag) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(UnZigZag(ZigZag(v)), v);
  }
  EXPECT_EQ(ZigZag(-1), 1U);
}

}  // namespace onceflow::coding
