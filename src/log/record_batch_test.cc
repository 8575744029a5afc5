#include "log/record_batch.h"

#include <gtest/gtest.h>

#include "log/log_format.h"
#include "log/log_test_util.h"

namespace onceflow::log {
namespace {

using testing::Encode;
using testing::Own;

std::vector<Record> SampleRecords() {
  std::vector<Record> rs;
  rs.push_back({std::string("k1"), "v1", 1700000000000, {}});
  rs.push_back({std::nullopt, "no key", 1700000000005, {{"h", "x"}, {"trace", "abc"}}});
  rs.push_back({std::string(""), "", 1699999999000, {}});  // empty key, empty value, older ts
  rs.push_back({std::string(300, 'k'), std::string(5000, 'v'), 1700000000001, {}});
  return rs;
}

TEST(RecordBatchTest, RoundTrip) {
  std::vector<Record> in = SampleRecords();
  std::string batch = Encode(in);
  SetBaseOffset(batch.data(), Offset(42));
  auto view = BatchView::Parse(batch);
  ASSERT_TRUE(view.has_value()) << view.error().ToString();
  EXPECT_EQ(view->header().base_offset, Offset(42));
  EXPECT_EQ(view->header().record_count, 4U);
  EXPECT_EQ(view->header().first_timestamp, 1700000000000);
  EXPECT_EQ(view->header().max_timestamp, 1700000000005);
  EXPECT_EQ(view->header().next_offset(), Offset(46));
  auto it = view->records();
  RecordView r;
  Offset o;
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_TRUE(it.Next(&r, &o));
    EXPECT_EQ(o, Offset(42 + static_cast<int64_t>(i)));
    EXPECT_EQ(Own(r), in[i]) << i;
  }
  EXPECT_FALSE(it.Next(&r, &o));
}

TEST(RecordBatchTest, NullKeyDiffersFromEmptyKey) {
  std::string batch = Encode({{std::nullopt, "a", 1, {}}, {std::string(), "b", 1, {}}});
  auto view = BatchView::Parse(batch);
  ASSERT_TRUE(view.has_value());
  auto it = view->records();
  RecordView r;
  Offset o;
  ASSERT_TRUE(it.Next(&r, &o));
  EXPECT_FALSE(r.key.has_value());
  ASSERT_TRUE(it.Next(&r, &o));
  ASSERT_TRUE(r.key.has_value());
  EXPECT_TRUE(r.key->empty());
}

TEST(RecordBatchTest, BaseOffsetIsOutsideTheChecksum) {
  std::string batch = Encode(SampleRecords());
  SetBaseOffset(batch.data(), Offset(7));
  EXPECT_TRUE(BatchView::Parse(batch).has_value());
  SetBaseOffset(batch.data(), Offset(123456789));
  EXPECT_TRUE(BatchView::Parse(batch).has_value());
}

TEST(RecordBatchTest, EveryFlippedBitIsCorruption) {
  std::string batch = Encode(SampleRecords());
  for (size_t byte = kBatchLengthPos; byte < batch.size(); byte += 7) {
    for (int bit = 0; bit < 8; bit += 3) {
      std::string bad = batch;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      auto view = BatchView::Parse(bad);
      ASSERT_FALSE(view.has_value()) << "byte " << byte << " bit " << bit;
      EXPECT_TRUE(view.error().IsCorruption());
    }
  }
}

TEST(RecordBatchTest, EveryTruncationIsCorruption) {
  std::string batch = Encode(SampleRecords());
  for (size_t n = 0; n < batch.size(); ++n) {
    auto view = BatchView::Parse(std::string_view(batch.data(), n));
    ASSERT_FALSE(view.has_value()) << n;
    EXPECT_TRUE(view.error().IsCorruption());
  }
}

TEST(RecordBatchTest, UnknownMagicIsRefused) {
  std::string batch = Encode(SampleRecords());
  batch[kMagicPos] = 9;
  auto header = ParseBatchHeader(batch);
  ASSERT_FALSE(header.has_value());
  EXPECT_NE(header.error().message().find("magic"), std::string::npos);
}

}  // namespace
}  // namespace onceflow::log
