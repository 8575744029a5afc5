// kafka_client helpers that need no broker.
#include "kafka/kafka_client.h"

#include <gtest/gtest.h>

namespace onceflow::kafka {
namespace {

// The group generation is read from librdkafka's serialised group metadata: a round trip
// through metadata made with a known generation proves this librdkafka's form is the one read.
TEST(KafkaClientTest, GenerationOfReadsTheGenerationOfGroupMetadata) {
  for (int32_t generation : {1, 7, 0x12345678}) {
    rd_kafka_consumer_group_metadata_t* meta =
        rd_kafka_consumer_group_metadata_new_with_genid("a-group", generation, "member-1", nullptr);
    Result<int32_t> read = GenerationOf(meta);
    rd_kafka_consumer_group_metadata_destroy(meta);
    ASSERT_TRUE(read.has_value()) << read.error().ToString();
    EXPECT_EQ(*read, generation);
  }
}

TEST(KafkaClientTest, BadSettingIsNamed) {
  auto client = MakeClient(ClientKind::kConsumer, "127.0.0.1:1", {{"no.such.setting", "1"}});
  ASSERT_FALSE(client.has_value());
  EXPECT_NE(client.error().message().find("kafka setting 'no.such.setting'"), std::string::npos)
      << client.error().message();
}

}  // namespace
}  // namespace onceflow::kafka
