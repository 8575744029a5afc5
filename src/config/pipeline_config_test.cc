// Tests of the pipeline TOML file: the documented example, and one clear error per kind of
// mistake.
#include "config/pipeline_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace onceflow::config {
namespace {

// The example of the pipeline file documentation, verbatim.
constexpr std::string_view kLedger = R"toml(name = "ledger"
batch_interval_ms = 20
[source]
type = "log"
topic = "transfers"
starting_offsets = "earliest"
format = "json"            # also "csv" (with header) and "raw"
[sink]
type = "sqlite"
path = "bank.db"
init = ["CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS ledger(id INTEGER, src INTEGER, dst INTEGER, amount INTEGER)"]
mode = "statements"        # also "append" (with table = "...") and "upsert" (with key = [...])
statements = [
  "INSERT INTO accounts(id, balance) VALUES(:from, -:amount) ON CONFLICT(id) DO UPDATE SET balance = balance - :amount",
  "INSERT INTO accounts(id, balance) VALUES(:to, :amount) ON CONFLICT(id) DO UPDATE SET balance = balance + :amount",
  "INSERT INTO ledger(id, src, dst, amount) VALUES(:id, :from, :to, :amount)"]
)toml";

// A minimal valid file; tests append to it or replace parts of it.
constexpr std::string_view kHead = R"toml(name = "p"
[source]
topic = "t"
)toml";
constexpr std::string_view kAppendSink = R"toml([sink]
path = "/data/out.db"
table = "out"
)toml";

class PipelineConfigTest : public ::testing::Test {
 protected:
  // Parses `text` as the file "ledger.toml" and returns the error message ("" if it parsed).
  static std::string ErrorOf(std::string_view text) {
    Result<PipelineConfig> config = ParsePipelineConfig(text, "ledger.toml");
    if (config.has_value()) return "";
    EXPECT_TRUE(config.error().IsInvalidArgument()) << config.error().ToString();
    return config.error().message();
  }
  static std::string WithSink(std::string_view sink) {
    return std::string(kHead) + "[sink]\npath = \"/data/out.db\"\n" + std::string(sink);
  }
};

TEST_F(PipelineConfigTest, LedgerExampleParses) {
  Result<PipelineConfig> config = ParsePipelineConfig(kLedger, "/srv/pipelines/ledger.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->name, "ledger");
  EXPECT_EQ(config->file, "/srv/pipelines/ledger.toml");
  EXPECT_EQ(config->batch_interval_ms, 20);
  // Keys not in the file keep their defaults.
  EXPECT_EQ(config->max_records_per_partition, 100000);
  EXPECT_EQ(config->max_task_failures, 4);
  EXPECT_EQ(config->max_batch_failures, 3);
  EXPECT_TRUE(config->speculation);
  EXPECT_EQ(config->speculation_multiplier, 4.0);
  EXPECT_EQ(config->speculation_min_ms, 100);
  EXPECT_EQ(config->executor_threads, 0);
  EXPECT_EQ(config->source.type(), "log");
  EXPECT_EQ(config->source.topic(), "transfers");
  EXPECT_EQ(config->source.records().starting_offsets, StartingOffsets::kEarliest);
  EXPECT_EQ(config->source.records().format, RecordFormat::kJson);
  EXPECT_TRUE(config->source.records().csv_columns.empty());
  EXPECT_TRUE(config->transforms.empty());
  EXPECT_EQ(config->sink.type(), "sqlite");
  ASSERT_NE(config->sink.sqlite(), nullptr);
  EXPECT_EQ(config->sink.sqlite()->path, "/srv/pipelines/bank.db");
  EXPECT_EQ(config->sink.sqlite()->init,
            (std::vector<std::string>{
                "CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT "
                "NULL)",
                "CREATE TABLE IF NOT EXISTS ledger(id INTEGER, src INTEGER, dst INTEGER, amount "
                "INTEGER)"}));
  EXPECT_EQ(config->sink.sqlite()->mode, SinkMode::kStatements);
  EXPECT_EQ(config->sink.sqlite()->table, "");
  EXPECT_TRUE(config->sink.sqlite()->key.empty());
  EXPECT_EQ(config->sink.sqlite()->statements,
            (std::vector<std::string>{
                "INSERT INTO accounts(id, balance) VALUES(:from, -:amount) ON CONFLICT(id) DO "
                "UPDATE SET balance = balance - :amount",
                "INSERT INTO accounts(id, balance) VALUES(:to, :amount) ON CONFLICT(id) DO UPDATE "
                "SET balance = balance + :amount",
                "INSERT INTO ledger(id, src, dst, amount) VALUES(:id, :from, :to, :amount)"}));
}

TEST_F(PipelineConfigTest, LoadReadsTheFileAndResolvesPathsAgainstItsDirectory) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("onceflow_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string file = (dir / "ledger.toml").string();
  std::ofstream(file) << kLedger;
  Result<PipelineConfig> config = LoadPipelineConfig(file);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  ASSERT_NE(config->sink.sqlite(), nullptr);
  EXPECT_EQ(config->sink.sqlite()->path, (dir / "bank.db").string());
  EXPECT_EQ(config->file, file);

  Result<PipelineConfig> missing = LoadPipelineConfig((dir / "nope.toml").string());
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(missing.error().IsNotFound()) << missing.error().ToString();
  EXPECT_NE(missing.error().message().find("nope.toml"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_F(PipelineConfigTest, RelativeSinkPathsAreResolvedAgainstTheFile) {
  auto path_of = [](std::string_view sink_path, const std::string& file) {
    std::string text =
        std::string(kHead) + "[sink]\npath = \"" + std::string(sink_path) + "\"\ntable = \"out\"\n";
    Result<PipelineConfig> config = ParsePipelineConfig(text, file);
    EXPECT_TRUE(config.has_value()) << config.error().ToString();
    return config.has_value() && config->sink.sqlite() != nullptr ? config->sink.sqlite()->path
                                                                  : "";
  };
  EXPECT_EQ(path_of("../data/bank.db", "/srv/pipelines/p.toml"), "/srv/data/bank.db");
  EXPECT_EQ(path_of("./db/bank.db", "/srv/pipelines/p.toml"), "/srv/pipelines/db/bank.db");
  EXPECT_EQ(path_of("/var/lib/bank.db", "/srv/pipelines/p.toml"), "/var/lib/bank.db");
  EXPECT_EQ(path_of(":memory:", "/srv/pipelines/p.toml"), ":memory:");
  // A file named relative to the working directory: the path becomes absolute.
  EXPECT_EQ(path_of("bank.db", "conf/p.toml"),
            (std::filesystem::current_path() / "conf" / "bank.db").string());
}

TEST_F(PipelineConfigTest, EveryKeyIsRead) {
  std::string text = R"toml(name = "orders.v2_eu-1"
batch_interval_ms = 3600000
max_records_per_partition = 500
max_task_failures = 7
max_batch_failures = 2
speculation = false
speculation_multiplier = 2
speculation_min_ms = 0
executor_threads = 8
[source]
type = "log"
topic = "orders"
starting_offsets = "latest"
format = "csv"
csv_columns = ["id", "amount"]
csv_delimiter = ";"
[sink]
path = "/data/out.db"
mode = "upsert"
table = "orders"
key = ["id"]
)toml";
  Result<PipelineConfig> config = ParsePipelineConfig(text, "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->name, "orders.v2_eu-1");
  EXPECT_EQ(config->batch_interval_ms, 3600000);
  EXPECT_EQ(config->max_records_per_partition, 500);
  EXPECT_EQ(config->max_task_failures, 7);
  EXPECT_EQ(config->max_batch_failures, 2);
  EXPECT_FALSE(config->speculation);
  EXPECT_EQ(config->speculation_multiplier, 2.0);
  EXPECT_EQ(config->speculation_min_ms, 0);
  EXPECT_EQ(config->executor_threads, 8);
  EXPECT_EQ(config->source.records().starting_offsets, StartingOffsets::kLatest);
  EXPECT_EQ(config->source.records().format, RecordFormat::kCsv);
  EXPECT_EQ(config->source.records().csv_columns, (std::vector<std::string>{"id", "amount"}));
  EXPECT_EQ(config->source.records().csv_delimiter, ";");
  ASSERT_NE(config->sink.sqlite(), nullptr);
  EXPECT_EQ(config->sink.sqlite()->mode, SinkMode::kUpsert);
  EXPECT_EQ(config->sink.sqlite()->table, "orders");
  EXPECT_EQ(config->sink.sqlite()->key, (std::vector<std::string>{"id"}));
  EXPECT_TRUE(config->sink.sqlite()->init.empty());
}

TEST_F(PipelineConfigTest, TransformsAreReadInOrder) {
  std::string text = std::string(kHead) + R"toml(
[[transform]]
type = "filter"
where = ["amount > 0", "currency == \"EUR\"", "rate <= -1.5", "ok != false", "note == null"]
[[transform]]
type = "rename"
fields = { zeta = "z", alpha = "a", "odd name" = "odd" }
[[transform]]
type = "select"
fields = ["z", "a", "amount"]
)toml" + std::string(kAppendSink);
  Result<PipelineConfig> config = ParsePipelineConfig(text, "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  ASSERT_EQ(config->transforms.size(), 3u);
  const TransformConfig& filter = config->transforms[0];
  EXPECT_EQ(filter.type, TransformConfig::Type::kFilter);
  ASSERT_EQ(filter.conditions.size(), 5u);
  EXPECT_EQ(filter.conditions[0].field, "amount");
  EXPECT_EQ(filter.conditions[0].op, ">");
  EXPECT_EQ(filter.conditions[0].literal, Value(int64_t{0}));
  EXPECT_EQ(filter.conditions[1].field, "currency");
  EXPECT_EQ(filter.conditions[1].op, "==");
  EXPECT_EQ(filter.conditions[1].literal, Value(std::string("EUR")));
  EXPECT_EQ(filter.conditions[2].op, "<=");
  EXPECT_EQ(filter.conditions[2].literal, Value(-1.5));
  EXPECT_EQ(filter.conditions[3].literal, Value(false));
  EXPECT_EQ(filter.conditions[4].literal, Value());
  const TransformConfig& rename = config->transforms[1];
  EXPECT_EQ(rename.type, TransformConfig::Type::kRename);
  // The file's order, not the alphabetical one.
  EXPECT_EQ(rename.renames, (std::vector<std::pair<std::string, std::string>>{
                                {"zeta", "z"}, {"alpha", "a"}, {"odd name", "odd"}}));
  const TransformConfig& select = config->transforms[2];
  EXPECT_EQ(select.type, TransformConfig::Type::kSelect);
  EXPECT_EQ(select.fields, (std::vector<std::string>{"z", "a", "amount"}));
}

TEST_F(PipelineConfigTest, MissingNameIsRefused) {
  std::string text(kLedger);
  text.erase(0, text.find('\n') + 1);
  EXPECT_EQ(ErrorOf(text), "ledger.toml: name: required");
}

TEST_F(PipelineConfigTest, BadNameIsRefused) {
  std::string text = "name = \"my pipeline\"\n" + std::string(kHead.substr(kHead.find('\n') + 1)) +
                     std::string(kAppendSink);
  EXPECT_EQ(ErrorOf(text),
            "ledger.toml: name: must be letters, digits, '.', '_' or '-', got 'my pipeline'");
  std::string dots = "name = \"..\"\n" + std::string(kHead.substr(kHead.find('\n') + 1)) +
                     std::string(kAppendSink);
  EXPECT_NE(ErrorOf(dots).find("ledger.toml: name: "), std::string::npos);
}

TEST_F(PipelineConfigTest, BadModeNamesTheChoices) {
  std::string text(kLedger);
  text.replace(text.find("\"statements\""), 12, "\"apend\"");
  EXPECT_EQ(ErrorOf(text),
            "ledger.toml: sink.mode: expected one of append, upsert, statements, got 'apend'");
  EXPECT_EQ(ErrorOf(WithSink("mode = 3\n")),
            "ledger.toml: sink.mode: expected one of append, upsert, statements, got an integer "
            "(3)");
}

TEST_F(PipelineConfigTest, UnknownKeysAreRefused) {
  EXPECT_EQ(ErrorOf(WithSink("tabel = \"out\"\n")),
            "ledger.toml: sink.tabel: unknown key (did you mean 'table'?)");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "colour = 1\n" + std::string(kAppendSink)),
            "ledger.toml: source.colour: unknown key (known keys: type, topic, starting_offsets, "
            "format, csv_columns, csv_delimiter, bootstrap, group, assign, session_timeout_ms)");
  EXPECT_EQ(ErrorOf("colour = 1\n" + std::string(kHead) + std::string(kAppendSink)),
            "ledger.toml: colour: unknown key (known keys: name, batch_interval_ms, "
            "max_records_per_partition, max_task_failures, max_batch_failures, speculation, "
            "speculation_multiplier, speculation_min_ms, executor_threads, commit_mode, "
            "state_tasks, state_cache_mb, source, "
            "transform, sink)");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "fromat = \"csv\"\n" + std::string(kAppendSink)),
            "ledger.toml: source.fromat: unknown key (did you mean 'format'?)");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "[[transform]]\ntype = \"select\"\nfeilds = [\"a\"]\n" +
                    std::string(kAppendSink)),
            "ledger.toml: transform[0].feilds: unknown key (did you mean 'fields'?)");
}

TEST_F(PipelineConfigTest, WrongTypesNameTheExpectedType) {
  auto top = [](std::string_view line) {
    return ErrorOf(std::string(line) + "\n" + std::string(kHead) + std::string(kAppendSink));
  };
  EXPECT_EQ(top("batch_interval_ms = \"20\""),
            "ledger.toml: batch_interval_ms: must be an integer from 1 to 3600000, got '20'");
  EXPECT_EQ(top("batch_interval_ms = 0"),
            "ledger.toml: batch_interval_ms: must be an integer from 1 to 3600000, got 0");
  EXPECT_EQ(top("batch_interval_ms = 3600001"),
            "ledger.toml: batch_interval_ms: must be an integer from 1 to 3600000, got 3600001");
  EXPECT_EQ(top("max_task_failures = 0"),
            "ledger.toml: max_task_failures: must be an integer from 1 to 2147483647, got 0");
  EXPECT_EQ(top("max_records_per_partition = -1"),
            "ledger.toml: max_records_per_partition: must be an integer of at least 1, got -1");
  EXPECT_EQ(top("executor_threads = 1.5"),
            "ledger.toml: executor_threads: must be an integer from 0 to 1024, got a float (1.5)");
  EXPECT_EQ(top("speculation = \"yes\""),
            "ledger.toml: speculation: expected a boolean (true or false), got 'yes'");
  EXPECT_EQ(
      top("speculation_multiplier = 1.0"),
      "ledger.toml: speculation_multiplier: must be a number greater than 1, got a float (1)");
  EXPECT_EQ(top("speculation_multiplier = nan"),
            "ledger.toml: speculation_multiplier: must be a number greater than 1, got a float "
            "(nan)");
  EXPECT_EQ(ErrorOf("name = \"p\"\n[source]\ntopic = 5\n" + std::string(kAppendSink)),
            "ledger.toml: source.topic: expected a string, got an integer (5)");
  EXPECT_EQ(ErrorOf(WithSink("table = \"t\"\ninit = \"CREATE TABLE t(x)\"\n")),
            "ledger.toml: sink.init: expected an array of strings, got 'CREATE TABLE t(x)'");
  EXPECT_EQ(ErrorOf(WithSink("table = \"t\"\ninit = [\"CREATE TABLE t(x)\", 2]\n")),
            "ledger.toml: sink.init[1]: expected a string, got an integer (2)");
  EXPECT_EQ(
      ErrorOf(std::string(kHead) + "[transform]\ntype = \"select\"\n" + std::string(kAppendSink)),
      "ledger.toml: transform: expected an array of tables ([[transform]]), got a table");
  EXPECT_EQ(ErrorOf("name = \"p\"\nsource = \"log\"\n" + std::string(kAppendSink)),
            "ledger.toml: source: expected a table ([source]), got 'log'");
}

TEST_F(PipelineConfigTest, RequiredKeysAndTables) {
  EXPECT_EQ(ErrorOf("name = \"p\"\n[source]\nformat = \"json\"\n" + std::string(kAppendSink)),
            "ledger.toml: source.topic: required");
  EXPECT_EQ(ErrorOf("name = \"p\"\n" + std::string(kAppendSink)),
            "ledger.toml: source: required (a [source] table)");
  EXPECT_EQ(ErrorOf(std::string(kHead)), "ledger.toml: sink: required (a [sink] table)");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "[sink]\ntable = \"t\"\n"),
            "ledger.toml: sink.path: required");
  EXPECT_EQ(ErrorOf(WithSink("mode = \"append\"\n")), "ledger.toml: sink.table: required");
  EXPECT_EQ(ErrorOf(WithSink("mode = \"upsert\"\ntable = \"t\"\n")),
            "ledger.toml: sink.key: required");
  EXPECT_EQ(ErrorOf(WithSink("mode = \"upsert\"\ntable = \"t\"\nkey = []\n")),
            "ledger.toml: sink.key: must not be empty");
  EXPECT_EQ(ErrorOf(WithSink("mode = \"statements\"\n")), "ledger.toml: sink.statements: required");
  EXPECT_EQ(ErrorOf(WithSink("mode = \"statements\"\nstatements = []\n")),
            "ledger.toml: sink.statements: must not be empty");
  EXPECT_EQ(
      ErrorOf(std::string(kHead) + "[[transform]]\nfields = [\"a\"]\n" + std::string(kAppendSink)),
      "ledger.toml: transform[0].type: required (one of select, rename, filter, aggregate)");
}

TEST_F(PipelineConfigTest, KeysOfAnotherModeOrFormatAreRefused) {
  EXPECT_EQ(
      ErrorOf(WithSink("mode = \"statements\"\ntable = \"t\"\nstatements = [\"SELECT 1\"]\n")),
      "ledger.toml: sink.table: only used with mode = \"append\" or \"upsert\"");
  EXPECT_EQ(ErrorOf(WithSink("table = \"t\"\nkey = [\"id\"]\n")),
            "ledger.toml: sink.key: only used with mode = \"upsert\"");
  EXPECT_EQ(ErrorOf(WithSink("table = \"t\"\nstatements = [\"SELECT 1\"]\n")),
            "ledger.toml: sink.statements: only used with mode = \"statements\"");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "csv_delimiter = \";\"\n" + std::string(kAppendSink)),
            "ledger.toml: source.csv_delimiter: only used with format = \"csv\"");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "format = \"csv\"\ncsv_delimiter = \";;\"\n" +
                    std::string(kAppendSink)),
            "ledger.toml: source.csv_delimiter: must be one character other than a quote or a "
            "line break, got ';;'");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "format = \"csv\"\ncsv_columns = [\"a\", \"a\"]\n" +
                    std::string(kAppendSink)),
            "ledger.toml: source.csv_columns[1]: 'a' is listed twice");
}

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
  EXPECT_EQ(ErrorOf("name = \"p\"\n[source]\ntopic = \"t\"\ngroup = \"g\"\n" +
                    std::string(kAppendSink)),
            "ledger.toml: source.group: only used with type = \"kafka\"");
  EXPECT_EQ(ErrorOf(WithSink("type = \"postgres\"\n")),
            "ledger.toml: sink.path: not used with type = \"postgres\"");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "[sink]\ntype = \"postgres\"\ntable = \"t\"\n"),
            "ledger.toml: sink.conninfo: required");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "[sink]\ntype = \"kafka\"\nbootstrap = \"b:1\"\n"),
            "ledger.toml: sink.topic: required");
  EXPECT_EQ(ErrorOf(std::string(kHead) +
                    "[sink]\ntype = \"kafka\"\nbootstrap = \"b:1\"\ntopic = \"o\"\ntable = \"t\"\n"),
            "ledger.toml: sink.table: not used with type = \"kafka\"");
  EXPECT_EQ(ErrorOf(WithSink("type = \"mysql\"\n")),
            "ledger.toml: sink.type: expected one of sqlite, postgres, kafka, got 'mysql'");
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
  EXPECT_EQ(ErrorOf(kafka + "assign = \"group\"\nsession_timeout_ms = 10\n" +
                    std::string(kAppendSink)),
            "ledger.toml: source.session_timeout_ms: must be an integer from 1000 to 3600000, "
            "got 10");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "assign = \"group\"\n" + std::string(kAppendSink)),
            "ledger.toml: source.assign: only used with type = \"kafka\"");
  EXPECT_EQ(ErrorOf(kafka + "assign = \"group\"\n[[transform]]\ntype = \"aggregate\"\n"
                            "key = [\"user\"]\naggregates = { n = \"count\" }\n" +
                    std::string(kAppendSink)),
            "ledger.toml: source.assign: \"group\" cannot feed an aggregate (transform[0]): its "
            "keys span every partition, so one process must own them all");
}

TEST_F(PipelineConfigTest, CommitModeIsBatchOrTask) {
  Result<PipelineConfig> config =
      ParsePipelineConfig("commit_mode = \"task\"\n" + std::string(kHead) + std::string(kAppendSink),
                          "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->commit_mode, CommitMode::kTask);
  EXPECT_EQ(ErrorOf("commit_mode = \"tasks\"\n" + std::string(kHead) + std::string(kAppendSink)),
            "ledger.toml: commit_mode: expected one of batch, task, got 'tasks'");
}

TEST_F(PipelineConfigTest, TaskCommitsWithAnAggregateAreRefused) {
  // An aggregate's state commits once per batch, after the sink: per-task commits would
  // silently be per-batch ones.
  const std::string aggregate =
      "[[transform]]\ntype = \"aggregate\"\nkey = [\"user\"]\naggregates = { n = \"count\" }\n";
  EXPECT_EQ(ErrorOf("commit_mode = \"task\"\n" + std::string(kHead) + aggregate +
                    std::string(kAppendSink)),
            "ledger.toml: commit_mode: \"task\" cannot be used with an aggregate (transform[0]): "
            "a stateful pipeline commits each batch as one task");
  EXPECT_EQ(ErrorOf("commit_mode = \"batch\"\n" + std::string(kHead) + aggregate +
                    std::string(kAppendSink)),
            "");
}

TEST_F(PipelineConfigTest, AnUnsetSecretVariableIsNamedButNoValueIsPrinted) {
  ::unsetenv("ONCEFLOW_TEST_UNSET_VAR");
  std::string error = ErrorOf(std::string(kHead) +
                              "[sink]\ntype = \"postgres\"\nconninfo = \"password=${ONCEFLOW_TEST_UNSET_VAR}\"\n"
                              "table = \"t\"\n");
  EXPECT_EQ(error,
            "ledger.toml: sink.conninfo: names the environment variable ONCEFLOW_TEST_UNSET_VAR, "
            "which is not set");
  EXPECT_EQ(ErrorOf(std::string(kHead) +
                    "[sink]\ntype = \"postgres\"\nconninfo = \"password=${X\"\ntable = \"t\"\n"),
            "ledger.toml: sink.conninfo: '${' without a closing '}'");
}

TEST_F(PipelineConfigTest, BadTransformsAreRefused) {
  auto transform = [](std::string_view body) {
    return ErrorOf(std::string(kHead) + "[[transform]]\n" + std::string(body) +
                   std::string(kAppendSink));
  };
  EXPECT_EQ(transform("type = \"filter\"\nwhere = [\"amount >> 0\"]\n"),
            "ledger.toml: transform[0].where[0]: cannot parse 'amount >> 0': expected a number, "
            "true, false, null or a \"quoted string\" after '>', got '> 0'");
  EXPECT_EQ(transform("type = \"filter\"\nwhere = [\"a > 0\", \"currency = 'EUR'\"]\n"),
            "ledger.toml: transform[0].where[1]: cannot parse 'currency = 'EUR'': expected an "
            "operator (==, !=, <, <=, >, >=) after 'currency'");
  EXPECT_EQ(transform("type = \"filter\"\nwhere = [\"currency == EUR\"]\n"),
            "ledger.toml: transform[0].where[0]: cannot parse 'currency == EUR': expected a "
            "number, true, false, null or a \"quoted string\" after '==', got 'EUR'");
  EXPECT_EQ(transform("type = \"filter\"\nwhere = [\"ok < true\"]\n"),
            "ledger.toml: transform[0].where[0]: cannot parse 'ok < true': '<' needs a number or "
            "a string, got true");
  EXPECT_EQ(transform("type = \"rename\"\nfields = [\"a\"]\n"),
            "ledger.toml: transform[0].fields: expected a table of old = \"new\" names, got an "
            "array");
  EXPECT_EQ(transform("type = \"rename\"\nfields = { a = \"x\", b = \"x\" }\n"),
            "ledger.toml: transform[0].fields.b: 'x' is also the new name of 'a'");
  EXPECT_EQ(transform("type = \"rename\"\nfields = { a = 1 }\n"),
            "ledger.toml: transform[0].fields.a: expected a string, got an integer (1)");
  EXPECT_EQ(transform("type = \"select\"\nfields = []\n"),
            "ledger.toml: transform[0].fields: must not be empty");
  EXPECT_EQ(transform("type = \"select\"\nwhere = [\"a > 1\"]\n"),
            "ledger.toml: transform[0].where: unknown key (known keys: type, fields, on_missing)");
  EXPECT_EQ(transform("type = \"filter\"\nwhere = [\"a > 1\"]\non_missing = \"skip\"\n"),
            "ledger.toml: transform[0].on_missing: expected one of error, null, got 'skip'");
  EXPECT_EQ(transform("type = \"map\"\n"),
            "ledger.toml: transform[0].type: expected one of select, rename, filter, aggregate, "
            "got 'map'");
}

TEST_F(PipelineConfigTest, OnMissingAsksForNullSemanticsPerTransform) {
  std::string text = std::string(kHead) + R"toml(
[[transform]]
type = "filter"
where = ["note == null"]
on_missing = "null"
[[transform]]
type = "select"
fields = ["id"]
[[transform]]
type = "rename"
fields = { id = "key" }
on_missing = "error"
)toml" + std::string(kAppendSink);
  Result<PipelineConfig> config = ParsePipelineConfig(text, "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_TRUE(config->transforms[0].missing_as_null);
  EXPECT_FALSE(config->transforms[1].missing_as_null);
  EXPECT_FALSE(config->transforms[2].missing_as_null);
}

// With columns known at start (csv_columns, raw), a field that can never exist is a config
// error naming the key, not a dead letter per record.
TEST_F(PipelineConfigTest, FieldsThatCanNeverExistAreRefusedAtStart) {
  const std::string csv = R"toml(name = "p"
[source]
topic = "t"
format = "csv"
csv_columns = ["id", "amount"]
)toml";
  EXPECT_EQ(ErrorOf(csv + "[[transform]]\ntype = \"filter\"\nwhere = [\"amuont > 0\"]\n" +
                    std::string(kAppendSink)),
            "ledger.toml: transform[0].where[0]: field 'amuont' can never exist: the rows have id, "
            "amount here (source.csv_columns)");
  EXPECT_EQ(ErrorOf(csv + "[[transform]]\ntype = \"filter\"\nwhere = [\"amount > 0\"]\n" +
                    std::string(kAppendSink)),
            "");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "format = \"raw\"\n[[transform]]\ntype = \"select\"\n"
                    "fields = [\"value\", \"id\"]\n" + std::string(kAppendSink)),
            "ledger.toml: transform[0].fields[1]: field 'id' can never exist: the rows have key, "
            "value here (source.format = \"raw\" decodes a record as key and value)");
}

TEST_F(PipelineConfigTest, TomlSyntaxErrorsNameFileLineAndColumn) {
  std::string error = ErrorOf("name = \"p\"\n[source\ntopic = \"t\"\n");
  EXPECT_EQ(error.rfind("ledger.toml:2:", 0), 0u) << error;
  EXPECT_GT(error.size(), std::string("ledger.toml:2:8: ").size()) << error;
  std::string duplicate = ErrorOf("name = \"p\"\nname = \"q\"\n");
  EXPECT_EQ(duplicate.rfind("ledger.toml:2:", 0), 0u) << duplicate;
}

}  // namespace
}  // namespace onceflow::config
