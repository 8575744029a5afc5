// Additive mode in a pipeline file: [[sink.add]] entries and [sink.append] read in file order
// into the sink options, and each mistake refused naming its key.
#include <gtest/gtest.h>

#include "config/pipeline_config.h"
#include "config/pipeline_config_test_util.h"

namespace onceflow::config {
namespace {

constexpr std::string_view kAdditive = R"toml(mode = "additive"
[[sink.add]]
table = "accounts"
key = { id = "from" }
add = { balance = "-amount", debits = "one" }
[[sink.add]]
table = "accounts"
key = { id = "to" }
add = { balance = "amount" }
[sink.append]
table = "ledger"
columns = { id = "id", src = "from", dst = "to", amount = "amount" }
)toml";

TEST_F(PipelineConfigTest, AdditiveEntriesAndAppendParseInFileOrder) {
  Result<PipelineConfig> config = ParsePipelineConfig(WithSink(kAdditive), "ledger.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  const SqliteSinkOptions* o = config->sink.sqlite();
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->mode, SinkMode::kAdditive);
  ASSERT_EQ(o->add.size(), 2u);
  EXPECT_EQ(o->add[0], (AddTo{.table = "accounts",
                              .key = {{"id", "from"}},
                              .add = {{"balance", "-amount"}, {"debits", "one"}}}));
  EXPECT_EQ(o->add[1],
            (AddTo{.table = "accounts", .key = {{"id", "to"}}, .add = {{"balance", "amount"}}}));
  EXPECT_EQ(
      o->append,
      (AppendTo{.table = "ledger",
                .columns = {{"id", "id"}, {"src", "from"}, {"dst", "to"}, {"amount", "amount"}}}));
}

TEST_F(PipelineConfigTest, AdditiveMistakesNameTheKey) {
  auto with = [&](std::string from, std::string to) {
    std::string text(kAdditive);
    text.replace(text.find(from), from.size(), to);
    return ErrorOf(WithSink(text));
  };
  EXPECT_EQ(ErrorOf(WithSink("mode = \"additive\"\n")), "ledger.toml: sink.add: required");
  EXPECT_EQ(with("key = { id = \"to\" }", "key = { account = \"to\" }"),
            "ledger.toml: sink.add[1].key: table 'accounts' is keyed by other columns in "
            "sink.add[0]; one table has one key");
  EXPECT_EQ(with("add = { balance = \"amount\" }", "add = { balance = \"-\" }"),
            "ledger.toml: sink.add[1].add.balance: names no field");
  EXPECT_EQ(with("add = { balance = \"amount\" }", "add = { balance = 5 }"),
            "ledger.toml: sink.add[1].add.balance: expected the name of a field, got an integer "
            "(5)");
  EXPECT_EQ(with("add = { balance = \"amount\" }", "add = { id = \"amount\" }"),
            "ledger.toml: sink.add[1].add.id: is a key column of the table; it cannot be added "
            "to");
  EXPECT_EQ(with("key = { id = \"to\" }\n", ""), "ledger.toml: sink.add[1].key: required");
  EXPECT_EQ(with("add = { balance = \"amount\" }", "add = {}"),
            "ledger.toml: sink.add[1].add: must not be empty");
  EXPECT_EQ(with("table = \"ledger\"", "tabel = \"ledger\""),
            "ledger.toml: sink.append.tabel: unknown key (did you mean 'table'?)");
  EXPECT_EQ(ErrorOf(WithSink("mode = \"statements\"\nstatements = [\"SELECT 1\"]\n"
                             "[sink.append]\ntable = \"x\"\ncolumns = { a = \"b\" }\n")),
            "ledger.toml: sink.append: only used with mode = \"additive\"");
  EXPECT_EQ(ErrorOf(WithSink("mode = \"additive\"\ntable = \"t\"\n")),
            "ledger.toml: sink.table: only used with mode = \"append\" or \"upsert\"");
}

}  // namespace
}  // namespace onceflow::config
