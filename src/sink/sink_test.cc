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
  for (const char* text : {"0",
                           "0:1",
                           "0:1-",
                           ":1-2",
                           "0:-2",
                           "a:1-2",
                           "-1:1-2",
                           "0:-1-2",
                           "0:1--2",
                           "0:+1-2",
                           "+0:1-2",
                           "0:5-3",
                           "0:1-2,",
                           ",0:1-2",
                           "0:1-2,,1:1-2",
                           " 0:1-2",
                           "0:1-2 ",
                           "0:1-2;1:2-3",
                           "0:1-2,0:2-3",
                           "2147483648:1-2",
                           "0:1-99999999999999999999",
                           "0:1-2x",
                           "0x1:1-2"}) {
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

TEST(StartsTest, EncodeAndDecodeRoundTripWithUnknownStarts) {
  const TaskStarts started = {
      {PartitionId(0), Offset(10)}, {PartitionId(3), std::nullopt}, {PartitionId(12), Offset(0)}};
  const std::string text = EncodeStarts(started);
  EXPECT_EQ(text, "0:10,3:?,12:0");
  auto decoded = DecodeStarts(text);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, started);
  EXPECT_EQ(EncodeStarts({}), "");
  ASSERT_TRUE(DecodeStarts("").has_value());
  EXPECT_TRUE(DecodeStarts("")->empty());
}

TEST(StartsTest, MalformedTextIsRefusedNamingTheItem) {
  for (const char* text : {"0", "0:", ":1", "a:1", "-1:1", "0:-1", "0:??", "0:1,", ",0:1",
                           "0:1,0:2", "0:1-2", " 0:1", "0:x"}) {
    auto decoded = DecodeStarts(text);
    EXPECT_FALSE(decoded.has_value()) << "'" << text << "' was accepted";
    if (!decoded.has_value()) {
      EXPECT_TRUE(decoded.error().IsInvalidArgument()) << text;
      EXPECT_NE(decoded.error().message().find(text), std::string::npos)
          << decoded.error().message();
    }
  }
  auto decoded = DecodeStarts("0:1,0:2");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_NE(decoded.error().message().find("'0:2' repeats partition 0"), std::string::npos)
      << decoded.error().message();
}

TEST(ProgressAfterTest, KeepsStartsAndTheSourceAndAddsNewPartitions) {
  const std::vector<TaskRange> first = {R(0, 5, 9), R(1, 0, 0)};
  TaskProgress p = ProgressAfter(std::nullopt, BatchId(0), Epoch(2), first, "log:a", std::nullopt);
  EXPECT_EQ(p.last_batch, BatchId(0));
  EXPECT_EQ(p.epoch, Epoch(2));
  EXPECT_EQ(p.ranges, first);
  EXPECT_EQ(p.source, "log:a");
  EXPECT_EQ(p.started, (TaskStarts{{PartitionId(0), Offset(5)}, {PartitionId(1), Offset(0)}}));
  // A later batch keeps where each partition began and adds one that is new; no source given
  // keeps the stored one.
  const std::vector<TaskRange> second = {R(0, 9, 12), R(2, 30, 31)};
  const OutputDigest digest{1, 2};
  p = ProgressAfter(p, BatchId(1), Epoch(3), second, "", digest);
  EXPECT_EQ(p.ranges, second);
  EXPECT_EQ(p.digest, digest);  // the digest is the new batch's
  EXPECT_EQ(p.source, "log:a");
  EXPECT_EQ(p.started, (TaskStarts{{PartitionId(0), Offset(5)},
                                   {PartitionId(1), Offset(0)},
                                   {PartitionId(2), Offset(30)}}));
  // A row whose start is not known stays not known: its first range was before this one.
  TaskProgress old;
  old.last_batch = BatchId(7);
  old.ranges = {R(0, 0, 10)};
  old.started = {{PartitionId(0), std::nullopt}};
  p = ProgressAfter(old, BatchId(8), Epoch(1), std::vector<TaskRange>{R(0, 10, 20)}, "log:a",
                    std::nullopt);
  EXPECT_EQ(p.started, (TaskStarts{{PartitionId(0), std::nullopt}}));
}

}  // namespace
}  // namespace onceflow::sink
