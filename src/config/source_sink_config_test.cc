// The sources and sinks of a pipeline file: Kafka, PostgreSQL and Kafka sinks, a Kafka source
// shared through its group, and the keys of one type refused under another.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/pipeline_config.h"
#include "config/pipeline_config_test_util.h"

namespace onceflow::config {
namespace {

TEST_F(PipelineConfigTest, KafkaSourceAndPostgresAndKafkaSinksParse) {
  ::setenv("ONCEFLOW_TEST_PG_PASSWORD", "s3cret", 1);
  Result<PipelineConfig> config = ParsePipelineConfig(R"toml(name = "bank"
[source]
type = "kafka"
bootstrap = "127.0.0.1:9092"
topic = "transfers"
[sink]
type = "postgres"
conninfo = "host=127.0.0.1 password=${ONCEFLOW_TEST_PG_PASSWORD}"
mode = "append"
table = "t"
)toml",
                                                      "bank.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->source.type(), "kafka");
  ASSERT_NE(config->source.kafka(), nullptr);
  EXPECT_EQ(config->source.kafka()->bootstrap, "127.0.0.1:9092");
  EXPECT_EQ(config->source.kafka()->group, "onceflow-bank");  // the default group
  EXPECT_EQ(config->sink.type(), "postgres");
  ASSERT_NE(config->sink.postgres(), nullptr);
  EXPECT_EQ(config->sink.postgres()->conninfo, "host=127.0.0.1 password=s3cret");

  config = ParsePipelineConfig(R"toml(name = "copy"
[source]
type = "kafka"
bootstrap = "b:1"
group = "g1"
topic = "in"
[sink]
type = "kafka"
bootstrap = "b:1"
topic = "out"
key_field = "id"
)toml",
                               "copy.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  ASSERT_NE(config->source.kafka(), nullptr);
  EXPECT_EQ(config->source.kafka()->group, "g1");
  ASSERT_NE(config->sink.kafka(), nullptr);
  EXPECT_EQ(config->sink.kafka()->topic, "out");
  EXPECT_EQ(config->sink.kafka()->key_field, "id");
}

TEST_F(PipelineConfigTest, SourceAndSinkKeysOfAnotherTypeAreRefused) {
  EXPECT_EQ(ErrorOf("name = \"p\"\n[source]\ntype = \"kafka\"\ntopic = \"t\"\n" +
                    std::string(kAppendSink)),
            "ledger.toml: source.bootstrap: required");
  EXPECT_EQ(
      ErrorOf("name = \"p\"\n[source]\ntopic = \"t\"\ngroup = \"g\"\n" + std::string(kAppendSink)),
      "ledger.toml: source.group: only used with type = \"kafka\"");
  EXPECT_EQ(ErrorOf(WithSink("type = \"postgres\"\n")),
            "ledger.toml: sink.path: not used with type = \"postgres\"");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "[sink]\ntype = \"postgres\"\ntable = \"t\"\n"),
            "ledger.toml: sink.conninfo: required");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "[sink]\ntype = \"kafka\"\nbootstrap = \"b:1\"\n"),
            "ledger.toml: sink.topic: required");
  EXPECT_EQ(
      ErrorOf(std::string(kHead) +
              "[sink]\ntype = \"kafka\"\nbootstrap = \"b:1\"\ntopic = \"o\"\ntable = \"t\"\n"),
      "ledger.toml: sink.table: not used with type = \"kafka\"");
  EXPECT_EQ(ErrorOf(WithSink("type = \"mysql\"\n")),
            "ledger.toml: sink.type: expected one of sqlite, postgres, kafka, blackhole, got "
            "'mysql'");
}

TEST_F(PipelineConfigTest, KafkaSourceSharedThroughItsGroup) {
  const std::string kafka = "name = \"p\"\n[source]\ntype = \"kafka\"\nbootstrap = \"b:1\"\n"
                            "topic = \"t\"\n";
  Result<PipelineConfig> config = ParsePipelineConfig(
      kafka + "assign = \"group\"\nsession_timeout_ms = 6000\n" + std::string(kAppendSink),
      "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_TRUE(config->source.group_assigned());
  ASSERT_NE(config->source.kafka(), nullptr);
  EXPECT_EQ(config->source.kafka()->session_timeout.count(), 6000);
  config = ParsePipelineConfig(kafka + std::string(kAppendSink), "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_FALSE(config->source.group_assigned());  // "all" is the default
  EXPECT_EQ(config->source.kafka()->session_timeout.count(), 10000);

  EXPECT_EQ(ErrorOf(kafka + "assign = \"some\"\n" + std::string(kAppendSink)),
            "ledger.toml: source.assign: expected one of all, group, got 'some'");
  EXPECT_EQ(ErrorOf(kafka + "session_timeout_ms = 6000\n" + std::string(kAppendSink)),
            "ledger.toml: source.session_timeout_ms: only used with assign = \"group\"");
  EXPECT_EQ(
      ErrorOf(kafka + "assign = \"group\"\nsession_timeout_ms = 10\n" + std::string(kAppendSink)),
      "ledger.toml: source.session_timeout_ms: must be an integer from 1000 to 3600000, "
      "got 10");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "assign = \"group\"\n" + std::string(kAppendSink)),
            "ledger.toml: source.assign: only used with type = \"kafka\"");
  EXPECT_EQ(ErrorOf(kafka +
                    "assign = \"group\"\n[[transform]]\ntype = \"aggregate\"\n"
                    "key = [\"user\"]\naggregates = { n = \"count\" }\n" +
                    std::string(kAppendSink)),
            "ledger.toml: source.assign: \"group\" cannot feed an aggregate (transform[0]): its "
            "keys span every partition, so one process must own them all");
}

}  // namespace
}  // namespace onceflow::config

namespace onceflow::config {
namespace {

TEST_F(PipelineConfigTest, NexmarkSourceAndBlackholeSinkParse) {
  Result<PipelineConfig> config = ParsePipelineConfig(R"toml(name = "q0"
[source]
type = "nexmark"
events = 1000
partitions = 3
kind = "auction"
events_per_second = 1000
base_time_ms = 0
out_of_order_group = 10
[sink]
type = "blackhole"
)toml",
                                                      "q0.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->source.type(), "nexmark");
  ASSERT_NE(config->source.nexmark(), nullptr);
  const NexmarkSourceOptions& o = *config->source.nexmark();
  EXPECT_EQ(o.events, 1000);
  EXPECT_EQ(o.partitions, 3);
  EXPECT_EQ(o.kind, NexmarkKind::kAuction);
  EXPECT_EQ(o.events_per_second, 1000);
  EXPECT_EQ(o.base_time_ms, 0);
  EXPECT_EQ(o.out_of_order_group, 10);
  EXPECT_EQ(config->sink.type(), "blackhole");
  EXPECT_NE(config->sink.blackhole(), nullptr);
}

TEST_F(PipelineConfigTest, NexmarkRateShapeParsesAndIsCheckedNamingTheKey) {
  const std::string head = "name = \"p\"\n[source]\ntype = \"nexmark\"\nevents = 10\n";
  const std::string sink = "[sink]\ntype = \"blackhole\"\n";
  Result<PipelineConfig> config = ParsePipelineConfig(
      head + "rate_shape = \"sine\"\nnext_events_per_second = 500\nrate_period_s = 60\n" + sink,
      "ledger.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  const NexmarkSourceOptions& o = *config->source.nexmark();
  EXPECT_EQ(o.rate_shape, NexmarkRateShape::kSine);
  EXPECT_EQ(o.next_events_per_second, 500);
  EXPECT_EQ(o.rate_period_s, 60);
  config = ParsePipelineConfig(head + sink, "ledger.toml");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->source.nexmark()->rate_shape, NexmarkRateShape::kConstant);
  EXPECT_EQ(ErrorOf(head + "rate_shape = \"saw\"\n" + sink),
            "ledger.toml: source.rate_shape: expected one of constant, square, sine, got 'saw'");
  EXPECT_EQ(ErrorOf(head + "rate_shape = \"square\"\n" + sink),
            "ledger.toml: source.next_events_per_second: required");
  EXPECT_EQ(ErrorOf(head + "next_events_per_second = 5\n" + sink),
            "ledger.toml: source.next_events_per_second: only used with rate_shape = square or "
            "sine");
  EXPECT_EQ(ErrorOf(head +
                    "rate_shape = \"square\"\nnext_events_per_second = 5\n"
                    "rate_period_s = 0\n" +
                    sink),
            "ledger.toml: source.rate_period_s: must be an integer from 1 to 1000000, got 0");
  EXPECT_EQ(ErrorOf(head +
                    "rate_shape = \"sine\"\nnext_events_per_second = 5\n"
                    "events_per_second = 2000000000\n" +
                    sink),
            "ledger.toml: source.events_per_second: must be at most 1000000000 with a "
            "rate_shape, got 2000000000");
}

TEST_F(PipelineConfigTest, NexmarkKeysAreCheckedNamingTheKey) {
  const std::string sink = "[sink]\ntype = \"blackhole\"\n";
  EXPECT_EQ(ErrorOf("name = \"p\"\n[source]\ntype = \"nexmark\"\n" + sink),
            "ledger.toml: source.events: required");
  EXPECT_EQ(
      ErrorOf("name = \"p\"\n[source]\ntype = \"nexmark\"\nevents = 10\ntopic = \"t\"\n" + sink),
      "ledger.toml: source.topic: not used with type = \"nexmark\"");
  EXPECT_EQ(ErrorOf("name = \"p\"\n[source]\ntype = \"log\"\ntopic = \"t\"\nevents = 10\n" + sink),
            "ledger.toml: source.events: only used with type = \"nexmark\"");
  EXPECT_EQ(
      ErrorOf("name = \"p\"\n[source]\ntype = \"nexmark\"\nevents = 10\nkind = \"bids\"\n" + sink),
      "ledger.toml: source.kind: expected one of bid, auction, person, all, got 'bids'");
  EXPECT_EQ(ErrorOf("name = \"p\"\n[source]\ntype = \"nexmark\"\nevents = 10\n"
                    "out_of_order_group = 1906\n" +
                    sink),
            "ledger.toml: source.out_of_order_group: must not be a multiple of 953 (the "
            "permutation's stride), got 1906");
  EXPECT_EQ(ErrorOf("name = \"p\"\n[source]\ntype = \"nexmark\"\nevents = 10\n[sink]\n"
                    "type = \"blackhole\"\ntable = \"t\"\n"),
            "ledger.toml: sink.table: not used with type = \"blackhole\"");
  // A field a bid can never have is refused before any event is made.
  EXPECT_EQ(ErrorOf("name = \"p\"\n[source]\ntype = \"nexmark\"\nevents = 10\n[[transform]]\n"
                    "type = \"select\"\nfields = [\"auction\", \"prize\"]\n" +
                    sink),
            "ledger.toml: transform[0].fields[1]: field 'prize' can never exist: the rows have "
            "auction, bidder, price, channel, url, date_time, extra here (a nexmark bid)");
}

}  // namespace
}  // namespace onceflow::config
