// The public producer and topic API: every record sent is in the topic once, in order per key,
// on the key's partition; read-only handles see it and cannot produce.
#include "onceflow/producer.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "log/log_test_util.h"
#include "onceflow/topic.h"

namespace onceflow {
namespace {

class ProducerTest : public ::testing::Test {
 protected:
  // Every record of the topic, partition by partition, read through the public API.
  std::vector<std::pair<PartitionId, Record>> ReadAll(const Topic& topic) {
    std::vector<std::pair<PartitionId, Record>> out;
    for (int32_t p = 0; p < topic.partition_count(); ++p) {
      auto earliest = topic.EarliestOffset(PartitionId(p));
      EXPECT_TRUE(earliest.has_value());
      Offset next = *earliest;
      while (true) {
        auto records = topic.Read(PartitionId(p), next, 100);
        EXPECT_TRUE(records.has_value()) << records.error().ToString();
        if (!records.has_value() || records->empty()) break;
        for (Record& r : *records) out.emplace_back(PartitionId(p), std::move(r));
        next = next + static_cast<int64_t>(records->size());
      }
    }
    return out;
  }

  ::onceflow::testing::TempDir dir_;
};

TEST_F(ProducerTest, EveryRecordSentIsInTheTopicOnceOnItsKeysPartitionInOrder) {
  auto topic = Topic::Create(dir_.path(), "events", {.partitions = 3});
  ASSERT_TRUE(topic.has_value()) << topic.error().ToString();
  ProducerOptions options;
  options.batch_records = 64;  // several batches per partition
  auto producer = Producer::Create(topic->get(), options);
  ASSERT_TRUE(producer.has_value()) << producer.error().ToString();
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "user-" + std::to_string(i % 17);
    auto partition = (*producer)->Send(key, std::to_string(i), 1700000000000 + i);
    ASSERT_TRUE(partition.has_value()) << partition.error().ToString();
    EXPECT_EQ(*partition, (*topic)->PartitionForKey(key));
  }
  ASSERT_TRUE((*producer)->Close().ok());
  EXPECT_EQ((*producer)->records_sent(), 3000u);
  EXPECT_EQ((*producer)->records_durable(), 3000u);

  int64_t end_total = 0;
  for (int32_t p = 0; p < 3; ++p) end_total += (*(*topic)->EndOffset(PartitionId(p))).value();
  EXPECT_EQ(end_total, 3000);
  std::set<int> seen;
  std::map<std::string, int> last_of_key;
  for (const auto& [partition, r] : ReadAll(**topic)) {
    ASSERT_TRUE(r.key.has_value());
    EXPECT_EQ(partition, (*topic)->PartitionForKey(*r.key));
    const int i = std::stoi(r.value);
    EXPECT_TRUE(seen.insert(i).second) << "record " << i << " twice";
    EXPECT_EQ(r.timestamp_ms, 1700000000000 + i);
    auto [it, first] = last_of_key.emplace(*r.key, i);
    if (!first) {
      EXPECT_LT(it->second, i) << "key " << *r.key << " out of order";
      it->second = i;
    }
  }
  EXPECT_EQ(seen.size(), 3000u);
}

TEST_F(ProducerTest, RecordsWithoutKeyAreSpreadAndKeptOnce) {
  auto topic = Topic::Create(dir_.path(), "lines", {.partitions = 2});
  ASSERT_TRUE(topic.has_value());
  ProducerOptions options;
  options.batch_records = 10;
  auto producer = Producer::Create(topic->get(), options);
  ASSERT_TRUE(producer.has_value());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*producer)->Send(std::nullopt, std::to_string(i)));
  ASSERT_TRUE((*producer)->Close().ok());
  std::set<int> seen;
  std::set<int32_t> partitions;
  for (const auto& [partition, r] : ReadAll(**topic)) {
    EXPECT_FALSE(r.key.has_value());
    EXPECT_TRUE(seen.insert(std::stoi(r.value)).second);
    partitions.insert(partition.value());
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(partitions.size(), 2u);
}

TEST_F(ProducerTest, ReadOnlyTopicSeesAppendsAndRefusesAProducer) {
  auto topic = Topic::Create(dir_.path(), "events", {.partitions = 1});
  ASSERT_TRUE(topic.has_value());
  auto reader = Topic::Open(dir_.path(), "events", /*read_only=*/true);
  ASSERT_TRUE(reader.has_value()) << reader.error().ToString();
  EXPECT_EQ((*(*reader)->EndOffset(PartitionId(0))).value(), 0);

  auto producer = Producer::Create(topic->get());
  ASSERT_TRUE(producer.has_value());
  ASSERT_TRUE((*producer)->Send("k", "v1"));
  ASSERT_TRUE((*producer)->Send("k", "v2"));
  ASSERT_TRUE((*producer)->Close().ok());
  EXPECT_EQ((*(*reader)->EndOffset(PartitionId(0))).value(), 2);
  auto records = (*reader)->Read(PartitionId(0), Offset(1), 10);
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].value, "v2");

  auto refused = Producer::Create(reader->get());
  ASSERT_FALSE(refused.has_value());
  EXPECT_TRUE(refused.error().IsInvalidArgument());
  EXPECT_EQ(refused.error().message(), "producer: topic 'events' is opened read-only");
}

TEST_F(ProducerTest, SendAfterCloseAborts) {
  // The appenders are gone after Close: a record sent then would be lost without an error.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto topic = Topic::Create(dir_.path(), "events", {.partitions = 1});
  ASSERT_TRUE(topic.has_value());
  auto producer = Producer::Create(topic->get());
  ASSERT_TRUE(producer.has_value());
  ASSERT_TRUE((*producer)->Send("k", "v1"));
  ASSERT_TRUE((*producer)->Close().ok());
  EXPECT_DEATH((void)(*producer)->Send("k", "v2"),
               "producer\\.cc:[0-9]+: CHECK failed: !closed_: record added to a closed "
               "producer\n");
  EXPECT_EQ((*(*topic)->EndOffset(PartitionId(0))).value(), 1);  // only what was sent before
}

TEST_F(ProducerTest, CreateAndOpenErrorsNameTheTopic) {
  ASSERT_TRUE(Topic::Create(dir_.path(), "events", {.partitions = 2}).has_value());
  auto again = Topic::Create(dir_.path(), "events", {.partitions = 2});
  ASSERT_FALSE(again.has_value());
  EXPECT_TRUE(again.error().IsInvalidArgument());
  EXPECT_NE(again.error().message().find("events"), std::string::npos);
  auto missing = Topic::Open(dir_.path(), "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(missing.error().IsNotFound());
  EXPECT_NE(missing.error().message().find("nope"), std::string::npos);
  auto bad = Topic::Create(dir_.path(), "../x");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(bad.error().IsInvalidArgument());
}

}  // namespace
}  // namespace onceflow
