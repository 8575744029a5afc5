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
  std::string toml = ReadExample("q0.toml");
  const size_t from = toml.find("type = \"nexmark\"");
  const size_t to = toml.find("[[transform]]");
  ASSERT_NE(from, std::string::npos);
  toml.replace(from, to - from,
               "type = \"kafka\"\nbootstrap = \"" + bootstrap + "\"\ntopic = \"" + topic + "\"\n");
  WriteWholeFile(tmp_ + "/q0.toml", toml);
  RunResult r = Run({"run", tmp_ + "/q0.toml", "--until-caught-up", "--data", data_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string order = " ORDER BY auction, bidder, price, date_time, extra";
  Rows expected = SqliteTextRows(
      ExpectedDb(), "SELECT auction, bidder, price, date_time, extra FROM bid" + order);
  Rows got = SqliteTextRows(tmp_ + "/q0.db",
                            "SELECT auction, bidder, price, date_time, extra FROM q0" + order);
  ASSERT_EQ(got.size(), 184'000u);
  EXPECT_TRUE(got == expected) << "q0 over the Kafka topic differs from the generated bids";
}

}  // namespace
}  // namespace onceflow::testing
