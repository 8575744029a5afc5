// PipelineBuilder and the TOML reader make one PipelineConfig, checked by one validator: the
// same pipeline written either way gives equal configs, and what one refuses the other refuses
// with the same message.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "engine/pipeline_spec.h"
#include "onceflow/pipeline.h"

namespace onceflow::engine {
namespace {

using std::chrono::milliseconds;

const config::PipelineConfig& ConfigOf(const Pipeline& pipeline) {
  return internal::PipelineAccess::Spec(pipeline).config;
}

struct Case {
  const char* name;
  std::string toml;
  std::function<PipelineBuilder()> build;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back({"log source, filter, rename and select, SQLite statements", R"toml(
name = "ledger"
batch_interval_ms = 20
max_records_per_partition = 500
max_task_failures = 2
[source]
topic = "transfers"
[[transform]]
type = "filter"
where = ["amount > 0", "currency == \"EUR\""]
[[transform]]
type = "rename"
fields = { from = "src", to = "dst" }
[[transform]]
type = "select"
fields = ["src", "dst", "amount"]
on_missing = "null"
[sink]
path = "/srv/onceflow/bank.db"
init = ["CREATE TABLE IF NOT EXISTS t(a INTEGER)"]
mode = "statements"
statements = ["INSERT INTO t(a) VALUES(:amount)"]
)toml",
                   [] {
                     PipelineBuilder b("ledger");
                     b.FromLog({.topic = "transfers"})
                         .Where({"amount > 0", "currency == \"EUR\""})
                         .Rename({{"from", "src"}, {"to", "dst"}})
                         .Select({"src", "dst", "amount"}, /*missing_as_null=*/true)
                         .ToSqlite({.path = "/srv/onceflow/bank.db",
                                    .init = {"CREATE TABLE IF NOT EXISTS t(a INTEGER)"},
                                    .mode = SinkMode::kStatements,
                                    .statements = {"INSERT INTO t(a) VALUES(:amount)"}})
                         .BatchInterval(milliseconds(20))
                         .MaxRecordsPerPartition(500)
                         .MaxTaskFailures(2);
                     return b;
                   }});
  cases.push_back({"Kafka source by group, csv, PostgreSQL upsert, task commits", R"toml(
name = "orders"
commit_mode = "task"
executor_threads = 2
speculation = false
[source]
type = "kafka"
bootstrap = "127.0.0.1:9092"
topic = "orders"
assign = "group"
session_timeout_ms = 6000
format = "csv"
csv_columns = ["id", "amount"]
csv_delimiter = ";"
starting_offsets = "latest"
[sink]
type = "postgres"
conninfo = "host=127.0.0.1 dbname=shop"
mode = "upsert"
table = "orders"
key = ["id"]
)toml",
                   [] {
                     PipelineBuilder b("orders");
                     b.FromKafka({.bootstrap = "127.0.0.1:9092",
                                  .topic = "orders",
                                  .assign = KafkaAssignment::kGroup,
                                  .session_timeout = milliseconds(6000),
                                  .records = {.format = RecordFormat::kCsv,
                                              .csv_columns = {"id", "amount"},
                                              .csv_delimiter = ";",
                                              .starting_offsets = StartingOffsets::kLatest}})
                         .ToPostgres({.conninfo = "host=127.0.0.1 dbname=shop",
                                      .mode = SinkMode::kUpsert,
                                      .table = "orders",
                                      .key = {"id"}})
                         .CommitMode(CommitMode::kTask)
                         .ExecutorThreads(2)
                         .Speculation(false);
                     return b;
                   }});
  cases.push_back({"windowed aggregate into Kafka, state settings", R"toml(
name = "spend"
state_tasks = 8
state_cache_mb = 16
[source]
topic = "purchases"
[[transform]]
type = "aggregate"
key = ["user"]
aggregates = { n = "count", spent = "sum(amount)" }
combine = false
window = { type = "sliding", size = "10s", slide = "5s", time_field = "ts", allowed_lateness = "1s", emit = "final" }
[sink]
type = "kafka"
bootstrap = "127.0.0.1:9092"
topic = "spend"
key_field = "user"
)toml",
                   [] {
                     PipelineBuilder b("spend");
                     b.FromLog({.topic = "purchases"})
                         .Aggregate({"user"}, {{"n", "count"}, {"spent", "sum(amount)"}},
                                    WindowSpec{.type = WindowType::kSliding,
                                               .size = milliseconds(10000),
                                               .slide = milliseconds(5000),
                                               .time_field = "ts",
                                               .allowed_lateness = milliseconds(1000),
                                               .emit = WindowEmit::kFinal},
                                    /*map_side_combine=*/false)
                         .ToKafka(
                             {.bootstrap = "127.0.0.1:9092", .topic = "spend", .key_field = "user"})
                         .StateTasks(8)
                         .StateCacheMb(16);
                     return b;
                   }});
  return cases;
}

TEST(PipelineBuilderTest, BuilderAndTomlGiveEqualConfigs) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    Result<config::PipelineConfig> from_toml = config::ParsePipelineConfig(c.toml, "");
    ASSERT_TRUE(from_toml.has_value()) << from_toml.error().ToString();
    Result<std::unique_ptr<Pipeline>> built = c.build().Build();
    ASSERT_TRUE(built.has_value()) << built.error().ToString();
    const config::PipelineConfig& from_builder = ConfigOf(**built);
    // Field by field first, so that a difference is named; then the whole.
    EXPECT_EQ(from_builder.name, from_toml->name);
    EXPECT_TRUE(from_builder.source == from_toml->source) << from_toml->source.type();
    EXPECT_TRUE(from_builder.sink == from_toml->sink) << from_toml->sink.type();
    ASSERT_EQ(from_builder.transforms.size(), from_toml->transforms.size());
    for (size_t i = 0; i < from_toml->transforms.size(); ++i) {
      EXPECT_TRUE(from_builder.transforms[i] == from_toml->transforms[i]) << "transform " << i;
    }
    EXPECT_TRUE(from_builder == *from_toml);
  }
}

// The TOML text of a valid pipeline with `top` as its top-level lines (name first).
std::string Toml(const std::string& top, const std::string& transforms = "") {
  return top + "[source]\ntopic = \"t\"\n" + transforms +
         "[sink]\npath = \"/srv/onceflow/out.db\"\ntable = \"out\"\n";
}

std::string TomlError(const std::string& text) {
  Result<config::PipelineConfig> config = config::ParsePipelineConfig(text, "");
  return config.has_value() ? "accepted" : config.error().message();
}

std::string BuildError(PipelineBuilder& b) {
  b.FromLog({.topic = "t"}).ToSqlite({.path = "/srv/onceflow/out.db", .table = "out"});
  Result<std::unique_ptr<Pipeline>> p = b.Build();
  return p.has_value() ? "accepted" : p.error().message();
}

TEST(PipelineBuilderTest, NameOutsideThePipelinesDirectoryIsRefusedAsInToml) {
  // A checkpoint lives in <data>/pipelines/<name>: "../x" would put it outside.
  const std::string expected =
      "pipeline config: name: must be letters, digits, '.', '_' or '-', got '../x'";
  EXPECT_EQ(TomlError(Toml("name = \"../x\"\n")), expected);
  PipelineBuilder b("../x");
  EXPECT_EQ(BuildError(b), expected);
  for (const char* bad : {"..", ".", "", "a/b", "my pipeline"}) {
    SCOPED_TRACE(bad);
    PipelineBuilder again(bad);
    EXPECT_EQ(BuildError(again), TomlError(Toml("name = \"" + std::string(bad) + "\"\n")));
    EXPECT_NE(BuildError(again), "accepted");
  }
}

TEST(PipelineBuilderTest, TaskCommitsWithAStatefulOperatorAreRefusedAsInToml) {
  const std::string expected =
      "pipeline config: commit_mode: \"task\" cannot be used with an aggregate (transform[0]): "
      "a stateful pipeline commits each batch as one task";
  EXPECT_EQ(TomlError(Toml("name = \"p\"\ncommit_mode = \"task\"\n",
                           "[[transform]]\ntype = \"aggregate\"\nkey = [\"user\"]\n"
                           "aggregates = { n = \"count\" }\n")),
            expected);
  PipelineBuilder b("p");
  b.Aggregate({"user"}, {{"n", "count"}}).CommitMode(CommitMode::kTask);
  EXPECT_EQ(BuildError(b), expected);

  PipelineBuilder with_state("p");
  with_state.UpdateState<std::string, int64_t>(
      {"user"}, [](const std::string&, std::optional<int64_t>&, std::span<const Row>,
                   const BatchContext&) { return std::vector<Row>{}; });
  with_state.CommitMode(CommitMode::kTask);
  EXPECT_EQ(BuildError(with_state),
            "pipeline config: commit_mode: \"task\" cannot be used with update_state: a stateful "
            "pipeline commits each batch as one task");
}

TEST(PipelineBuilderTest, TypedAggregatesGiveTheConfigOfTheirTomlText) {
  PipelineBuilder typed("p");
  typed.Aggregate({"user"},
                  {{.name = "n"},
                   {.name = "spent", .function = AggregateFunction::kSum, .field = "amount"},
                   {.name = "top", .function = AggregateFunction::kMax, .field = "amount"}});
  PipelineBuilder text("p");
  text.Aggregate({"user"}, {{"n", "count"}, {"spent", "sum(amount)"}, {"top", "max(amount)"}});
  Result<std::unique_ptr<Pipeline>> a =
      typed.FromLog({.topic = "t"}).ToSqlite({.path = "/srv/o.db", .table = "out"}).Build();
  Result<std::unique_ptr<Pipeline>> b =
      text.FromLog({.topic = "t"}).ToSqlite({.path = "/srv/o.db", .table = "out"}).Build();
  ASSERT_TRUE(a.has_value()) << a.error().ToString();
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  ASSERT_EQ(ConfigOf(**a).transforms.size(), 1u);
  EXPECT_TRUE(ConfigOf(**a).transforms[0] == ConfigOf(**b).transforms[0]);
  const auto& aggregates = ConfigOf(**a).transforms[0].aggregate.aggregates;
  ASSERT_EQ(aggregates.size(), 3u);
  EXPECT_EQ(aggregates[1].function, AggregateFunction::kSum);
  EXPECT_EQ(aggregates[1].field, "amount");
}

TEST(PipelineBuilderTest, AggregateNamesAreCheckedAsInToml) {
  // A name that is also a key field: the same message either way (one validator).
  const std::string expected = "pipeline config: transform[0].aggregates.user: 'user' is also "
                               "a key field";
  EXPECT_EQ(
      TomlError(Toml("name = \"p\"\n", "[[transform]]\ntype = \"aggregate\"\n"
                                       "key = [\"user\"]\naggregates = { user = \"count\" }\n")),
      expected);
  PipelineBuilder key_name("p");
  key_name.Aggregate({"user"}, {{.name = "user"}});
  EXPECT_EQ(BuildError(key_name), expected);
  // What only the builder can write wrong (a TOML table has unique keys and parsed functions).
  PipelineBuilder twice("p");
  twice.Aggregate({"user"}, {{.name = "n"}, {.name = "n"}});
  EXPECT_EQ(BuildError(twice),
            "pipeline config: transform[0].aggregates.n: the output name is used twice");
  PipelineBuilder no_field("p");
  no_field.Aggregate({"user"}, {{.name = "s", .function = AggregateFunction::kSum}});
  EXPECT_EQ(BuildError(no_field), "pipeline config: transform[0].aggregates.s: needs the field "
                                  "it aggregates (e.g. sum(amount))");
  PipelineBuilder count_field("p");
  count_field.Aggregate({"user"}, {{.name = "n", .field = "amount"}});
  EXPECT_EQ(BuildError(count_field),
            "pipeline config: transform[0].aggregates.n: count takes no field");
}

TEST(PipelineBuilderTest, SinkOptionsAreCheckedAgainstTheModeAsInToml) {
  PipelineBuilder upsert("p");
  upsert.FromLog({.topic = "t"})
      .ToSqlite({.path = "/srv/onceflow/out.db", .mode = SinkMode::kUpsert, .table = "out"});
  Result<std::unique_ptr<Pipeline>> p = upsert.Build();
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message(), "pipeline config: sink.key: required");
  EXPECT_EQ(TomlError("name = \"p\"\n[source]\ntopic = \"t\"\n[sink]\npath = \"/srv/o.db\"\n"
                      "mode = \"upsert\"\ntable = \"out\"\n"),
            "pipeline config: sink.key: required");

  PipelineBuilder statements("p");
  statements.FromLog({.topic = "t"})
      .ToPostgres({.conninfo = "host=x", .mode = SinkMode::kStatements, .table = "out"});
  p = statements.Build();
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message(),
            "pipeline config: sink.table: only used with mode = \"append\" or \"upsert\"");
}

TEST(PipelineBuilderTest, SourceOptionsAreChecked) {
  PipelineBuilder no_topic("p");
  no_topic.FromKafka({.bootstrap = "127.0.0.1:9092"}).ToKafka({.bootstrap = "b:1", .topic = "o"});
  Result<std::unique_ptr<Pipeline>> p = no_topic.Build();
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message(), "pipeline config: source.topic: required");

  PipelineBuilder delimiter("p");
  delimiter
      .FromLog({.topic = "t", .records = {.format = RecordFormat::kCsv, .csv_delimiter = ";;"}})
      .ToKafka({.bootstrap = "b:1", .topic = "o"});
  p = delimiter.Build();
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message(),
            "pipeline config: source.csv_delimiter: must be one character other than a quote or "
            "a line break, got ';;'");

  PipelineBuilder group_aggregate("p");
  group_aggregate.FromKafka({.bootstrap = "b:1", .topic = "t", .assign = KafkaAssignment::kGroup})
      .Aggregate({"user"}, {{"n", "count"}})
      .ToKafka({.bootstrap = "b:1", .topic = "o"});
  p = group_aggregate.Build();
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message(),
            "pipeline config: source.assign: \"group\" cannot feed an aggregate (transform[0]): "
            "its keys span every partition, so one process must own them all");
}

TEST(PipelineBuilderTest, WhereConditionsAreParsedAtTheCall) {
  PipelineBuilder b("p");
  b.Where({"amount > 0", "amount >< 3"});
  Result<std::unique_ptr<Pipeline>> p = b.Build();
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message().rfind("where[1]: cannot parse 'amount >< 3': ", 0), 0u)
      << p.error().message();
}

}  // namespace
}  // namespace onceflow::engine
