// The [[transform]] tables of a pipeline file: read in order, bad ones refused, on_missing,
// and fields that can never exist refused at start.
#include <gtest/gtest.h>

#include "config/condition.h"
#include "config/pipeline_config.h"
#include "config/pipeline_config_test_util.h"

namespace onceflow::config {
namespace {

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

TEST_F(PipelineConfigTest, BadTransformsAreRefused) {
  auto transform = [](std::string_view body) {
    return ErrorOf(std::string(kHead) + "[[transform]]\n" + std::string(body) +
                   std::string(kAppendSink));
  };
  EXPECT_EQ(transform("type = \"filter\"\nwhere = [\"amount >> 0\"]\n"),
            "ledger.toml: transform[0].where[0]: cannot parse 'amount >> 0': expected a number, "
            "true, false, null or a \"quoted string\" after '>', got '> 0'");
  // Text that is not `field op literal` is read as an expression, whose errors name a column.
  EXPECT_EQ(transform("type = \"filter\"\nwhere = [\"a > 0\", \"currency = 'EUR' AND\"]\n"),
            "ledger.toml: transform[0].where[1]: cannot parse 'currency = 'EUR' AND': column 21: "
            "expected an expression, got the end");
  EXPECT_EQ(transform("type = \"filter\"\nwhere = [\"currency = NULL\"]\n"),
            "ledger.toml: transform[0].where[0]: cannot parse 'currency = NULL': column 10: '= "
            "NULL' is never true in SQL: use IS NULL or IS NOT NULL");
  EXPECT_EQ(transform("type = \"filter\"\nwhere = [\"LENGTH(name)\"]\n"),
            "ledger.toml: transform[0].where[0]: cannot parse 'LENGTH(name)': column 1: a "
            "condition must be BOOLEAN, got BIGINT");
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
            "ledger.toml: transform[0].type: expected one of select, rename, filter, compute, "
            "aggregate, got 'map'");
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
  EXPECT_EQ(ErrorOf(std::string(kHead) +
                    "format = \"raw\"\n[[transform]]\ntype = \"select\"\n"
                    "fields = [\"value\", \"id\"]\n" +
                    std::string(kAppendSink)),
            "ledger.toml: transform[0].fields[1]: field 'id' can never exist: the rows have key, "
            "value here (source.format = \"raw\" decodes a record as key and value)");
}

// A condition written back (ConditionToString, in error messages) reads back as the same
// condition: a float literal with an integral value keeps its point, or "amount >= 10.0" came
// back as the integer comparison "amount >= 10" (found by pipeline_config_fuzz).
TEST(ConditionTest, WrittenBackReadsBackTheSame) {
  for (const char* text : {"amount >= 10.0", "x < -0.0", "x == 1e+300", "x != 0.5", "x > 10",
                           "s == \"a\\\"b\"", "ok != false", "n == null"}) {
    auto c = ParseCondition(text);
    ASSERT_TRUE(c.has_value()) << text << ": " << c.error().ToString();
    const std::string written = ConditionToString(*c);
    auto back = ParseCondition(written);
    ASSERT_TRUE(back.has_value()) << written << ": " << back.error().ToString();
    EXPECT_EQ(back->literal.index(), c->literal.index()) << text << " -> " << written;
    EXPECT_EQ(back->literal, c->literal) << text << " -> " << written;
    EXPECT_EQ(ConditionToString(*back), written);
  }
  EXPECT_EQ(ConditionToString(ParseCondition("amount >= 10.0").value()), "amount >= 10.0");
  EXPECT_EQ(ConditionToString(ParseCondition("amount >= 10").value()), "amount >= 10");
}

}  // namespace
}  // namespace onceflow::config
