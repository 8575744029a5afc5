// [[transform]] type = "compute" and expression filters in a pipeline file: read in file
// order, every expression parsed and type-checked at start, errors one line naming the file,
// the key (transform index and field) and the column in the expression.
#include <gtest/gtest.h>

#include "config/condition.h"
#include "config/pipeline_config.h"
#include "config/pipeline_config_test_util.h"

namespace onceflow::config {
namespace {

std::string Compute(std::string_view fields) {
  return std::string(kHead) + "[[transform]]\ntype = \"compute\"\nfields = " + std::string(fields) +
         "\n" + std::string(kAppendSink);
}

TEST_F(PipelineConfigTest, ComputeFieldsAreReadInFileOrder) {
  std::string text = std::string(kHead) + R"toml(
[[transform]]
type = "compute"
fields = { price_eur = "price * 0.908", dir1 = "SPLIT_INDEX(url, '/', 3)", a = "1" }
on_missing = "null"
[[transform]]
type = "filter"
where = ["MOD(auction, 123) = 0", "price > 10", "note IS NOT NULL OR price_eur > 1"]
)toml" + std::string(kAppendSink);
  Result<PipelineConfig> config = ParsePipelineConfig(text, "p.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  const TransformConfig& compute = config->transforms[0];
  EXPECT_EQ(compute.type, TransformConfig::Type::kCompute);
  EXPECT_TRUE(compute.missing_as_null);
  EXPECT_EQ(compute.computed,
            (std::vector<std::pair<std::string, std::string>>{
                {"price_eur", "price * 0.908"}, {"dir1", "SPLIT_INDEX(url, '/', 3)"}, {"a", "1"}}));
  const TransformConfig& filter = config->transforms[1];
  ASSERT_EQ(filter.conditions.size(), 3u);
  EXPECT_EQ(filter.conditions[0].expression, "MOD(auction, 123) = 0");
  EXPECT_EQ(filter.conditions[1].field, "price");  // the simple form stays as it was
  EXPECT_EQ(filter.conditions[1].expression, "");
  EXPECT_EQ(filter.conditions[2].expression, "note IS NOT NULL OR price_eur > 1");
}

TEST_F(PipelineConfigTest, BadExpressionsNameTheFieldAndTheColumn) {
  EXPECT_EQ(ErrorOf(Compute("{ eur = \"price *\" }")),
            "ledger.toml: transform[0].fields.eur: 'price *': column 8: expected an expression, "
            "got the end");
  EXPECT_EQ(ErrorOf(Compute("{ ok = \"1\", x = \"FROB(price)\" }")).substr(0, 85),
            "ledger.toml: transform[0].fields.x: 'FROB(price)': column 1: unknown function FROB "
            "(k");
  EXPECT_EQ(ErrorOf(Compute("{ x = \"'a' + 1\" }")),
            "ledger.toml: transform[0].fields.x: ''a' + 1': column 5: '+' needs numbers, got "
            "VARCHAR");
  EXPECT_EQ(ErrorOf(Compute("{ x = \"REGEXP_EXTRACT(url, '(a', 1)\" }")),
            "ledger.toml: transform[0].fields.x: 'REGEXP_EXTRACT(url, '(a', 1)': column 21: bad "
            "regular expression: missing ): (a");
  EXPECT_EQ(ErrorOf(Compute("{ x = \"a\\nb\" }")),
            "ledger.toml: transform[0].fields.x: 'a\\nb': column 3: expected an operator or the "
            "end, got 'b'");
  EXPECT_EQ(ErrorOf(Compute("{ x = 1 }")),
            "ledger.toml: transform[0].fields.x: expected a string, got an integer (1)");
  EXPECT_EQ(ErrorOf(Compute("[\"a\"]")),
            "ledger.toml: transform[0].fields: expected a table of name = \"expression\", got an "
            "array");
  EXPECT_EQ(ErrorOf(Compute("{}")), "ledger.toml: transform[0].fields: must not be empty");
  EXPECT_EQ(ErrorOf(std::string(kHead) + "[[transform]]\ntype = \"compute\"\nwhere = [\"a\"]\n" +
                    std::string(kAppendSink)),
            "ledger.toml: transform[0].where: unknown key (known keys: type, fields, on_missing)");
}

TEST_F(PipelineConfigTest, ComputedFieldsCountForTheFieldCheck) {
  const std::string csv = R"toml(name = "p"
[source]
topic = "t"
format = "csv"
csv_columns = ["id", "amount"]
[[transform]]
type = "compute"
)toml";
  EXPECT_EQ(ErrorOf(csv + "fields = { double = \"amount * 2\", x = \"amuont + double\" }\n" +
                    std::string(kAppendSink)),
            "ledger.toml: transform[0].fields.x: field 'amuont' can never exist: the rows have "
            "id, amount, double here (source.csv_columns)");
  EXPECT_EQ(ErrorOf(csv + "fields = { double = \"amount * 2\" }\n" +
                    "[[transform]]\ntype = \"filter\"\nwhere = [\"double > 1 AND idd = 2\"]\n" +
                    std::string(kAppendSink)),
            "ledger.toml: transform[1].where[0]: field 'idd' can never exist: the rows have id, "
            "amount, double here (source.csv_columns)");
  EXPECT_EQ(ErrorOf(csv + "fields = { double = \"amount * 2\" }\n" +
                    "[[transform]]\ntype = \"select\"\nfields = [\"id\", \"double\"]\n" +
                    std::string(kAppendSink)),
            "");
}

// An expression condition is kept as its text, which reads back as the same condition.
TEST(ConditionTest, ExpressionConditionsReadBackTheSame) {
  for (const char* text :
       {"a = 1 AND b = 2", "MOD(x, 2) = 0", "x", "`odd` IS NULL", "amount > 0 OR amount < -1"}) {
    Result<TransformConfig::Condition> c = ParseWhere(text);
    ASSERT_TRUE(c.has_value()) << text << ": " << c.error().ToString();
    EXPECT_EQ(c->expression, text);
    EXPECT_EQ(ParseWhere(ConditionToString(*c)).value(), *c);
  }
  // The simple form keeps its meaning: `== null` tests for null.
  EXPECT_EQ(ParseWhere("note == null")->op, "==");
  EXPECT_EQ(ParseWhere("ok < true").error().message(), "'<' needs a number or a string, got true");
}

}  // namespace
}  // namespace onceflow::config
