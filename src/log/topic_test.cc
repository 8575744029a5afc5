#include "log/topic.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "log/log_test_util.h"

namespace onceflow::log {
namespace {

using testing::TempDir;

TEST(TopicTest, Murmur2MatchesKafka) {
  // Values from Kafka's UtilsTest.testMurmur2.
  EXPECT_EQ(static_cast<int32_t>(Murmur2("21")), -973932308);
  EXPECT_EQ(static_cast<int32_t>(Murmur2("foobar")), -790332482);
  EXPECT_EQ(static_cast<int32_t>(Murmur2("a-little-bit-long-string")), -985981536);
  EXPECT_EQ(static_cast<int32_t>(Murmur2("a-little-bit-longer-string")), -1486304829);
  EXPECT_EQ(static_cast<int32_t>(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")),
            -58897971);
  EXPECT_EQ(static_cast<int32_t>(Murmur2("abc")), 479470107);
}

TEST(TopicTest, CreateOpenAndList) {
  TempDir dir;
  TopicConfig c;
  c.partitions = 3;
  c.log.segment_bytes = 1 << 20;
  c.log.retention_ms = 3600000;
  {
    auto t = Topic::Create(dir.path(), "orders", c);
    ASSERT_TRUE(t.has_value()) << t.error().ToString();
    auto p = (*t)->partition(PartitionId(2));
    ASSERT_TRUE(p.has_value());
    ASSERT_TRUE((*p)->Append(testing::Encode({{std::nullopt, "x", 1, {}}})).has_value());
  }
  auto again = Topic::Create(dir.path(), "orders", c);
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().message().find("already exists"), std::string::npos);
  auto t = Topic::Open(dir.path(), "orders");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ((*t)->partition_count(), 3);
  EXPECT_EQ((*t)->config().log.segment_bytes, 1u << 20);
  EXPECT_EQ((*t)->config().log.retention_ms, 3600000);
  EXPECT_EQ((*(*t)->partition(PartitionId(2)))->end_offset(), Offset(1));
  auto bad = (*t)->partition(PartitionId(3));
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("3 partition(s)"), std::string::npos);
  EXPECT_EQ(ListTopics(dir.path()).value(), std::vector<std::string>{"orders"});
}

TEST(TopicTest, UnknownTopicAndBadNames) {
  TempDir dir;
  auto t = Topic::Open(dir.path(), "nope");
  ASSERT_FALSE(t.has_value());
  EXPECT_TRUE(t.error().IsNotFound());
  EXPECT_NE(t.error().message().find("unknown topic 'nope'"), std::string::npos);
  for (const char* name : {"", ".", "..", "a/b", "sp ace"}) {
    EXPECT_FALSE(ValidateTopicName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateTopicName("a.B_c-9").ok());
}

TEST(TopicTest, MetaRoundTripAndRefusals) {
  TopicConfig c;
  c.partitions = 7;
  c.log.durability = Durability::kNone;
  c.log.retention_bytes = 123;
  auto back = DecodeTopicMeta(EncodeTopicMeta(c), "m");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->partitions, 7);
  EXPECT_EQ(back->log.durability, Durability::kNone);
  EXPECT_EQ(back->log.retention_bytes, 123);
  auto newer = DecodeTopicMeta("format_version=3\npartitions=1\n", "/d/topic.meta");
  ASSERT_FALSE(newer.has_value());
  EXPECT_NE(newer.error().message().find("version 3 is not supported"), std::string::npos);
  auto unknown = DecodeTopicMeta("format_version=1\npartitions=1\ncolour=red\n", "m");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find("colour"), std::string::npos);
}

TEST(TopicTest, CreateGivesEachTopicANewIdThatSurvivesReopen) {
  TempDir dir;
  auto a = Topic::Create(dir.path(), "t", TopicConfig{});
  ASSERT_TRUE(a.has_value()) << a.error().ToString();
  const std::string id = (*a)->id();
  EXPECT_EQ(id.size(), 32u);
  a->reset();
  auto reopened = Topic::Open(dir.path(), "t", /*read_only=*/true);
  ASSERT_TRUE(reopened.has_value());
  EXPECT_EQ((*reopened)->id(), id);
  // Deleted and created again under the same name: another topic.
  reopened->reset();
  std::filesystem::remove_all(TopicDir(dir.path(), "t"));
  auto again = Topic::Create(dir.path(), "t", TopicConfig{});
  ASSERT_TRUE(again.has_value());
  EXPECT_NE((*again)->id(), id);
}

TEST(TopicTest, VersionOneMetaIsReadWithoutAnId) {
  auto old = DecodeTopicMeta("format_version=1\npartitions=3\n", "m");
  ASSERT_TRUE(old.has_value()) << old.error().ToString();
  EXPECT_EQ(old->partitions, 3);
  EXPECT_TRUE(old->id.empty());
  TopicConfig c;
  c.id = "00112233445566778899aabbccddeeff";
  auto back = DecodeTopicMeta(EncodeTopicMeta(c), "m");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, c.id);
}

TEST(TopicTest, SameKeySamePartition) {
  TempDir dir;
  TopicConfig c;
  c.partitions = 8;
  auto t = Topic::Create(dir.path(), "t", c).value();
  std::set<int32_t> used;
  for (int i = 0; i < 100; ++i) {
    std::string key = "user-" + std::to_string(i);
    EXPECT_EQ(t->PartitionForKey(key), t->PartitionForKey(key));
    used.insert(t->PartitionForKey(key).value());
  }
  EXPECT_EQ(used.size(), 8U);  // 100 keys spread over every partition
}

}  // namespace
}  // namespace onceflow::log
