// A mistake in a pipeline file's keys is refused with one clear error naming the key: names,
// modes, unknown keys, wrong types, required keys and tables, keys of another mode.
#include <gtest/gtest.h>

#include "config/pipeline_config.h"
#include "config/pipeline_config_test_util.h"

namespace onceflow::config {
namespace {

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
            "ledger.toml: sink.mode: expected one of append, upsert, statements, additive, got "
            "'apend'");
  EXPECT_EQ(ErrorOf(WithSink("mode = 3\n")),
            "ledger.toml: sink.mode: expected one of append, upsert, statements, additive, got an "
            "integer (3)");
}

TEST_F(PipelineConfigTest, UnknownKeysAreRefused) {
  EXPECT_EQ(ErrorOf(WithSink("tabel = \"out\"\n")),
            "ledger.toml: sink.tabel: unknown key (did you mean 'table'?)");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "colour = 1\n" + std::string(kAppendSink)),
            "ledger.toml: source.colour: unknown key (known keys: type, topic, starting_offsets, "
            "format, csv_columns, csv_delimiter, bootstrap, group, assign, session_timeout_ms, "
            "events, partitions, kind, events_per_second, base_time_ms, out_of_order_group, "
            "rate_shape, next_events_per_second, rate_period_s)");
  EXPECT_EQ(ErrorOf("colour = 1\n" + std::string(kHead) + std::string(kAppendSink)),
            "ledger.toml: colour: unknown key (known keys: name, batch_interval_ms, "
            "max_records_per_partition, batch_sizing, max_task_failures, max_batch_failures, "
            "speculation, "
            "speculation_multiplier, speculation_min_ms, executor_threads, commit_mode, "
            "on_replay_mismatch, state_tasks, state_cache_mb, history, source, "
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
            "ledger.toml: batch_interval_ms: must be an integer from 0 to 3600000, got '20'");
  EXPECT_EQ(top("batch_interval_ms = -1"),
            "ledger.toml: batch_interval_ms: must be an integer from 0 to 3600000, got -1");
  EXPECT_EQ(top("batch_interval_ms = 3600001"),
            "ledger.toml: batch_interval_ms: must be an integer from 0 to 3600000, got 3600001");
  EXPECT_EQ(top("max_task_failures = 0"),
            "ledger.toml: max_task_failures: must be an integer from 1 to 2147483647, got 0");
  EXPECT_EQ(top("max_records_per_partition = -1"),
            "ledger.toml: max_records_per_partition: must be an integer of at least 1, got -1");
  EXPECT_EQ(top("batch_sizing = \"auto\""),
            "ledger.toml: batch_sizing: expected one of adaptive, fixed, got 'auto'");
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
      "ledger.toml: transform[0].type: required (one of select, rename, filter, compute, "
      "aggregate)");
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

TEST_F(PipelineConfigTest, CommitModeIsBatchOrTask) {
  Result<PipelineConfig> config = ParsePipelineConfig(
      "commit_mode = \"task\"\n" + std::string(kHead) + std::string(kAppendSink), "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->commit_mode, CommitMode::kTask);
  EXPECT_EQ(ErrorOf("commit_mode = \"tasks\"\n" + std::string(kHead) + std::string(kAppendSink)),
            "ledger.toml: commit_mode: expected one of batch, task, got 'tasks'");
}

TEST_F(PipelineConfigTest, OnReplayMismatchIsWarnFailOrOff) {
  Result<PipelineConfig> config =
      ParsePipelineConfig(std::string(kHead) + std::string(kAppendSink), "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->on_replay_mismatch, ReplayMismatch::kWarn);  // the default
  config = ParsePipelineConfig(
      "on_replay_mismatch = \"fail\"\n" + std::string(kHead) + std::string(kAppendSink), "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->on_replay_mismatch, ReplayMismatch::kFail);
  EXPECT_EQ(
      ErrorOf("on_replay_mismatch = \"stop\"\n" + std::string(kHead) + std::string(kAppendSink)),
      "ledger.toml: on_replay_mismatch: expected one of warn, fail, off, got 'stop'");
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

// An error quoting a value, key or condition with a newline or another control character in it
// stays one line, the character escaped (found by pipeline_config_fuzz: "expected an operator
// after 'c?0<newline>name'" came out as two lines).
TEST_F(PipelineConfigTest, ErrorsQuotingControlCharactersStayOneLine) {
  const std::string body =
      std::string(kHead.substr(kHead.find('\n') + 1)) + std::string(kAppendSink);
  EXPECT_EQ(ErrorOf("name = \"a\\nb\"\n" + body),
            "ledger.toml: name: must be letters, digits, '.', '_' or '-', got 'a\\nb'");
  EXPECT_EQ(ErrorOf(std::string(kHead) +
                    "[[transform]]\ntype = \"filter\"\n"
                    "where = [\"c?0\\nname = 1\\u0001\"]\n" +
                    std::string(kAppendSink)),
            "ledger.toml: transform[0].where[0]: cannot parse 'c?0\\nname = 1\\x01': column 2: "
            "unexpected '?'");
  EXPECT_EQ(ErrorOf(std::string(kHead) +
                    "[[transform]]\ntype = \"filter\"\n"
                    "where = [\"c\\n0\"]\n" +
                    std::string(kAppendSink)),
            "ledger.toml: transform[0].where[0]: cannot parse 'c\\n0': column 3: expected an "
            "operator or the end, got '0'");
  const std::string unknown =
      ErrorOf(std::string(kHead) + "\"odd\\rkey\\t\" = 1\n" + std::string(kAppendSink));
  EXPECT_NE(unknown.find("odd\\rkey\\t"), std::string::npos) << unknown;
  EXPECT_EQ(unknown.find_first_of("\r\n\t"), std::string::npos) << unknown;
}

TEST_F(PipelineConfigTest, HistoryTableIsReadAndCheckedKeyByKey) {
  Result<PipelineConfig> defaults = ParsePipelineConfig(kLedger, "ledger.toml");
  ASSERT_TRUE(defaults.has_value()) << defaults.error().ToString();
  EXPECT_TRUE(defaults->history.enabled);
  EXPECT_EQ(defaults->history.max_batches, 10000);
  const std::string with =
      std::string(kLedger) + "\n[history]\nenabled = false\nmax_batches = 250\n";
  Result<PipelineConfig> set = ParsePipelineConfig(with, "ledger.toml");
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  EXPECT_FALSE(set->history.enabled);
  EXPECT_EQ(set->history.max_batches, 250);
  EXPECT_EQ(ErrorOf(std::string(kLedger) + "\n[history]\nmax_batchs = 5\n"),
            "ledger.toml: history.max_batchs: unknown key (did you mean 'max_batches'?)");
  EXPECT_EQ(ErrorOf(std::string(kLedger) + "\n[history]\nmax_batches = 0\n")
                .find("ledger.toml: history.max_batches: "),
            0u);
  EXPECT_EQ(ErrorOf("history = 3\n" + std::string(kLedger)).find("ledger.toml: history: "), 0u);
}

}  // namespace
}  // namespace onceflow::config
