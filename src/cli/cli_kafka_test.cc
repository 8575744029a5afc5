// `onceflow run` on a Kafka -> Kafka pipeline against the real broker: the output, as a
// read_committed consumer sees it, holds every input record exactly once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "testing/kafka_pipeline_test_base.h"

namespace onceflow::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

class CliKafkaTest : public KafkaPipelineTestBase {
 protected:
  // Deletes `topic` and creates it again with `partitions` (retried while the broker still
  // finishes the deletion).
  void RecreateTopic(const std::string& topic, int32_t partitions) {
    auto admin = kafka::MakeClient(kafka::ClientKind::kProducer, bootstrap_, {});
    ASSERT_TRUE(admin.has_value());
    rd_kafka_t* rk = admin->get();
    rd_kafka_DeleteTopic_t* del = rd_kafka_DeleteTopic_new(topic.c_str());
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, &del, 1, nullptr, queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 20000);
    ASSERT_NE(event, nullptr);
    EXPECT_EQ(rd_kafka_event_error(event), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_event_destroy(event);
    rd_kafka_queue_destroy(queue);
    rd_kafka_DeleteTopic_destroy(del);
    Status created = Status::Aborted("not tried");
    for (int attempt = 0; attempt < 300 && !created.ok(); ++attempt) {
      created = CreateTestTopic(bootstrap_, topic, partitions);
      if (!created.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(created.ok()) << created.ToString();
  }
};

TEST_F(CliKafkaTest, KafkaToKafkaSkipsAbortedInputAndWritesEachRecordOnce) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  Init(bootstrap);
  WriteToml(/*max_records_per_partition=*/40);
  Produce(300);
  RunResult r = RunPipeline({"--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (std::getenv("KAFKA_TEST_TRACE") != nullptr) std::printf("%s", r.err.c_str());
  EXPECT_EQ(CheckOutput(), "");
  // A second run finds nothing new and writes nothing; more input is picked up after it.
  r = RunPipeline({"--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Produce(100);
  r = RunPipeline({"--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CheckOutput(), "");
}

TEST_F(CliKafkaTest, RenamedTopicIsRefusedByRunStatusAndVerify) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  Init(bootstrap);
  WriteToml(100);
  Produce(100);
  ASSERT_EQ(RunPipeline({"--until-caught-up"}).exit_code, 0);
  const std::string other = name_ + "-other";
  ASSERT_TRUE(CreateTestTopic(bootstrap_, other, 3).ok());
  std::string toml = ReadWholeFile(toml_);
  toml.replace(toml.find("topic = \"" + in_ + "\""), in_.size() + 10, "topic = \"" + other + "\"");
  WriteWholeFile(toml_, toml);
  for (const char* verb : {"run", "status", "verify"}) {
    RunResult r = Run({verb, toml_, "--data", data_});
    EXPECT_EQ(r.exit_code, 1) << verb << ": " << r.out << r.err;
    EXPECT_THAT(r.out + r.err, HasSubstr("committed its offsets from kafka topic '" + in_ + "'"))
        << verb;
    EXPECT_THAT(r.out + r.err, HasSubstr("now reads kafka topic '" + other + "'")) << verb;
    EXPECT_THAT(r.out + r.err, HasSubstr("Give the pipeline a new name")) << verb;
  }
}

TEST_F(CliKafkaTest, TopicDeletedAndCreatedAgainIsRefused) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  Init(bootstrap);
  WriteToml(100);
  Produce(150);
  ASSERT_EQ(RunPipeline({"--until-caught-up"}).exit_code, 0);
  // Kafka's topic id is not visible through librdkafka 2.0: the records are what tell.
  RecreateTopic(in_, 3);
  Produce(600);  // longer than before, other records at the committed offsets
  for (const char* verb : {"run", "status", "verify"}) {
    RunResult r = Run({verb, toml_, "--data", data_});
    EXPECT_EQ(r.exit_code, 1) << verb << ": " << r.out << r.err;
    EXPECT_THAT(r.out + r.err, AnyOf(HasSubstr("was rewritten"), HasSubstr("were lost"))) << verb;
    EXPECT_THAT(r.out + r.err, HasSubstr("onceflow reset " + toml_)) << verb;
  }
}

}  // namespace
}  // namespace onceflow::testing
