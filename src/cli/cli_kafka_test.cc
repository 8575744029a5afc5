// `onceflow run` on a Kafka -> Kafka pipeline against the real broker: the output, as a
// read_committed consumer sees it, holds every input record exactly once.
#include <gtest/gtest.h>

#include "cli/cli_kafka_test_util.h"

namespace onceflow::cli::testing {
namespace {

class CliKafkaTest : public KafkaPipelineTestBase {};

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

}  // namespace
}  // namespace onceflow::cli::testing
