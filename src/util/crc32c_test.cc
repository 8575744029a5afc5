#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace onceflow::crc32c {
namespace internal {
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);
}

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(Value(zeros), 0x8a9136aaU);
  std::string ones(32, '\xff');
  EXPECT_EQ(Value(ones), 0x62a8ab43U);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(Value(inc), 0x46dd794eU);
  EXPECT_EQ(Value("123456789"), 0xe3069283U);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s = "hello, exactly-once world, with some more bytes to cross 8-byte lanes";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t a = Extend(Value(s.data(), cut), s.data() + cut, s.size() - cut);
    EXPECT_EQ(a, Value(s)) << cut;
  }
}

TEST(Crc32cTest, HardwareAndPortableAgree) {
  std::string s;
  for (int i = 0; i < 1000; ++i) s.push_back(static_cast<char>(i * 7919));
  for (size_t n = 0; n < s.size(); n += 37) {
    EXPECT_EQ(Extend(0, s.data(), n), internal::ExtendPortable(0, s.data(), n)) << n;
  }
}

}  // namespace onceflow::crc32c
