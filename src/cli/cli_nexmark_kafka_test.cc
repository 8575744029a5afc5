// `onceflow nexmark generate --kafka`: the generator's bids written into a Kafka topic, then q0
// over that topic commits exactly the bids the model generates (the real broker of the test
// run, ONCEFLOW_TEST_KAFKA).
#include "cli/cli_nexmark_test_util.h"
#include "testing/kafka.h"
#include "testing/services.h"

namespace onceflow::testing {
namespace {

TEST_F(CliNexmarkTest, GenerateIntoKafkaThenQ0OverTheTopicCommitsTheGeneratedBids) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("nexmark-bids");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 4).ok());
  RunResult g = Run({"nexmark", "generate", "--topic", topic, "--events", std::to_string(kEvents),
                     "--events-per-second", "10000", "--kafka", bootstrap});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.err.find("wrote 184000 nexmark bid events of 200000 into kafka topic"),
            std::string::npos)
      << g.err;
  RunQ0Over("type = \"kafka\"\nbootstrap = \"" + bootstrap + "\"\ntopic = \"" + topic + "\"\n");
  if (HasFatalFailure()) return;
  ExpectQ0IsTheGeneratedBids();
}

}  // namespace
}  // namespace onceflow::testing
