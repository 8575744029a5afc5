// Tests of the intent record's event-time fields (version 3: the close-windows flag).
#include "checkpoint/batch_intent.h"

#include <gtest/gtest.h>

namespace onceflow::checkpoint {
namespace {

BatchIntent EventTimeIntent() {
  BatchIntent in;
  in.batch = BatchId(12);
  in.batch_time_ms = 1700000000012;
  in.watermark_ms = 1700000000000;
  in.max_event_time_ms = 1700000000500;
  in.seed = 77;
  in.ranges.push_back({PartitionId(0), Offset(5), Offset(5)});
  in.ranges.push_back({PartitionId(1), Offset(9), Offset(9)});
  return in;
}

TEST(BatchIntentEventTimeTest, CloseWindowsFlagRoundTrips) {
  BatchIntent in = EventTimeIntent();
  in.close_windows = true;
  const std::string bytes = EncodeIntent(in);
  EXPECT_EQ(bytes[0], 3);
  EXPECT_EQ(DecodeIntent(bytes).value(), in);
  in.close_windows = false;
  EXPECT_EQ(DecodeIntent(EncodeIntent(in)).value(), in);
}

TEST(BatchIntentEventTimeTest, Version2RecordsReadWithoutTheFlag) {
  // A version-2 record as the previous onceflow wrote it: version 3 without its last byte (the
  // flags varint, 0 here) and with version byte 2.
  BatchIntent in = EventTimeIntent();
  std::string v2 = EncodeIntent(in);
  ASSERT_EQ(v2.back(), '\0');
  v2.pop_back();
  v2[0] = 2;
  auto read = DecodeIntent(v2);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(*read, in);
  EXPECT_FALSE(read->close_windows);
}

TEST(BatchIntentEventTimeTest, UnknownFlagsAreRefused) {
  std::string bytes = EncodeIntent(EventTimeIntent());
  bytes.back() = 2;  // a flag this onceflow does not know
  auto read = DecodeIntent(bytes);
  ASSERT_FALSE(read.has_value());
  EXPECT_TRUE(read.error().IsCorruption());
  EXPECT_NE(read.error().message().find("unknown flags 2"), std::string::npos);
}

}  // namespace
}  // namespace onceflow::checkpoint
