// Reading a pipeline file: the documented example, every key, paths resolved against the
// file, secrets from the environment, TOML syntax errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/pipeline_config.h"
#include "config/pipeline_config_test_util.h"

namespace onceflow::config {
namespace {

TEST_F(PipelineConfigTest, LedgerExampleParses) {
  Result<PipelineConfig> config = ParsePipelineConfig(kLedger, "/srv/pipelines/ledger.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->name, "ledger");
  EXPECT_EQ(config->file, "/srv/pipelines/ledger.toml");
  EXPECT_EQ(config->batch_interval_ms, 20);
  // Keys not in the file keep their defaults.
  EXPECT_EQ(config->max_records_per_partition, 100000);
  EXPECT_TRUE(config->adaptive_batch_size);
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
batch_sizing = "fixed"
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
  EXPECT_FALSE(config->adaptive_batch_size);
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

TEST_F(PipelineConfigTest, AnUnsetSecretVariableIsNamedButNoValueIsPrinted) {
  ::unsetenv("ONCEFLOW_TEST_UNSET_VAR");
  std::string error =
      ErrorOf(std::string(kHead) +
              "[sink]\ntype = \"postgres\"\nconninfo = \"password=${ONCEFLOW_TEST_UNSET_VAR}\"\n"
              "table = \"t\"\n");
  EXPECT_EQ(error,
            "ledger.toml: sink.conninfo: names the environment variable ONCEFLOW_TEST_UNSET_VAR, "
            "which is not set");
  EXPECT_EQ(ErrorOf(std::string(kHead) +
                    "[sink]\ntype = \"postgres\"\nconninfo = \"password=${X\"\ntable = \"t\"\n"),
            "ledger.toml: sink.conninfo: '${' without a closing '}'");
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
