// Tests of the built-in transforms (select, rename, filter) and of the filter language.
#include "operators/transforms.h"

#include <gtest/gtest.h>

#include "config/condition.h"
#include "config/field_check.h"

namespace onceflow::operators {

using config::CheckFieldsExist;
using config::ConditionToString;
using config::ParseCondition;
using config::TransformConfig;

namespace {

using Condition = TransformConfig::Condition;

TransformConfig Select(std::vector<std::string> fields) {
  TransformConfig config;
  config.type = TransformConfig::Type::kSelect;
  config.fields = std::move(fields);
  return config;
}

TransformConfig Rename(std::vector<std::pair<std::string, std::string>> renames) {
  TransformConfig config;
  config.type = TransformConfig::Type::kRename;
  config.renames = std::move(renames);
  return config;
}

// A filter of conditions written in the filter language.
TransformConfig Filter(std::vector<std::string_view> conditions) {
  TransformConfig config;
  config.type = TransformConfig::Type::kFilter;
  for (std::string_view text : conditions) {
    Result<Condition> condition = ParseCondition(text);
    EXPECT_TRUE(condition.has_value()) << text << ": " << condition.error().ToString();
    if (condition.has_value()) config.conditions.push_back(*condition);
  }
  return config;
}

std::unique_ptr<RowTransform> Make(TransformConfig config) {
  Result<std::vector<std::unique_ptr<RowTransform>>> transforms = MakeTransforms({config});
  EXPECT_TRUE(transforms.has_value()) << transforms.error().ToString();
  if (!transforms.has_value() || transforms->size() != 1) return nullptr;
  return std::move(transforms->front());
}

// Whether the filter keeps `row`; fails the test on an error.
bool Keeps(const RowTransform& filter, Row row) {
  bool keep = true;
  Status s = filter.Apply(&row, &keep);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return keep;
}

std::string ErrorOf(const RowTransform& transform, Row row) {
  bool keep = true;
  Status s = transform.Apply(&row, &keep);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  return s.message();
}

TEST(TransformsTest, SelectKeepsListedFieldsInListedOrder) {
  auto select = Make(Select({"c", "a"}));
  ASSERT_NE(select, nullptr);
  Row row{{"a", int64_t{1}}, {"b", std::string("x")}, {"c", true}, {"d", 2.5}};
  bool keep = true;
  ASSERT_TRUE(select->Apply(&row, &keep).ok());
  EXPECT_TRUE(keep);
  EXPECT_EQ(row, (Row{{"c", true}, {"a", int64_t{1}}})) << row.ToJson();
}

TEST(TransformsTest, SelectOfAMissingFieldIsAnErrorNamingIt) {
  auto select = Make(Select({"c", "missing", "a"}));
  EXPECT_EQ(ErrorOf(*select, Row{{"a", int64_t{1}}, {"c", true}}),
            "select: field 'missing' is missing; on_missing = \"null\" reads a missing field "
            "as null");
  // Asked for explicitly: a missing field is a null in its place.
  TransformConfig config = Select({"c", "missing", "a"});
  config.missing_as_null = true;
  auto nulls = Make(config);
  Row row{{"a", int64_t{1}}, {"b", std::string("x")}, {"c", true}};
  bool keep = true;
  ASSERT_TRUE(nulls->Apply(&row, &keep).ok());
  EXPECT_EQ(row, (Row{{"c", true}, {"missing", Value()}, {"a", int64_t{1}}})) << row.ToJson();
}

TEST(TransformsTest, RenameRenamesAllAtOnce) {
  auto rename = Make(Rename({{"from", "src"}, {"to", "dst"}}));
  ASSERT_NE(rename, nullptr);
  Row row{{"id", int64_t{1}}, {"from", int64_t{2}}, {"to", int64_t{3}}};
  bool keep = true;
  ASSERT_TRUE(rename->Apply(&row, &keep).ok());
  EXPECT_EQ(row, (Row{{"id", int64_t{1}}, {"src", int64_t{2}}, {"dst", int64_t{3}}}));

  auto swap = Make(Rename({{"a", "b"}, {"b", "a"}}));
  Row swapped{{"a", int64_t{1}}, {"b", int64_t{2}}};
  ASSERT_TRUE(swap->Apply(&swapped, &keep).ok());
  EXPECT_EQ(swapped, (Row{{"b", int64_t{1}}, {"a", int64_t{2}}}));
}

TEST(TransformsTest, RenameOfAMissingFieldIsAnErrorNamingIt) {
  auto rename = Make(Rename({{"from", "src"}, {"missing", "m"}}));
  Row row{{"from", int64_t{2}}};
  EXPECT_EQ(ErrorOf(*rename, row),
            "rename: field 'missing' is missing (to rename it to 'm'); on_missing = \"null\" "
            "reads a missing field as null");
  TransformConfig config = Rename({{"from", "src"}, {"missing", "m"}});
  config.missing_as_null = true;
  auto nulls = Make(config);
  bool keep = true;
  ASSERT_TRUE(nulls->Apply(&row, &keep).ok());
  EXPECT_EQ(row, (Row{{"src", int64_t{2}}, {"m", Value()}})) << row.ToJson();
}

TEST(TransformsTest, RenameOntoAnExistingFieldIsAnError) {
  auto rename = Make(Rename({{"a", "b"}}));
  EXPECT_EQ(ErrorOf(*rename, Row{{"a", int64_t{1}}, {"b", int64_t{2}}}),
            "rename: the row would have two fields named 'b'");
}

TEST(TransformsTest, FilterComparesNumbers) {
  auto filter = Make(Filter({"amount > 0", "amount <= 100.5"}));
  ASSERT_NE(filter, nullptr);
  EXPECT_TRUE(Keeps(*filter, Row{{"amount", int64_t{1}}}));
  EXPECT_TRUE(Keeps(*filter, Row{{"amount", 100.5}}));
  EXPECT_TRUE(Keeps(*filter, Row{{"amount", 0.001}}));
  EXPECT_FALSE(Keeps(*filter, Row{{"amount", int64_t{0}}}));
  EXPECT_FALSE(Keeps(*filter, Row{{"amount", int64_t{101}}}));
  EXPECT_FALSE(Keeps(*filter, Row{{"amount", -3.0}}));

  auto ops = [](std::string_view condition, Value v) {
    return Keeps(*Make(Filter({condition})), Row{{"x", std::move(v)}});
  };
  EXPECT_TRUE(ops("x == 5", int64_t{5}));
  EXPECT_TRUE(ops("x == 5", 5.0));
  EXPECT_FALSE(ops("x != 5", int64_t{5}));
  EXPECT_TRUE(ops("x != 5", int64_t{6}));
  EXPECT_TRUE(ops("x < 5", int64_t{4}));
  EXPECT_FALSE(ops("x < 5", int64_t{5}));
  EXPECT_TRUE(ops("x >= -2", int64_t{-2}));
  EXPECT_FALSE(ops("x >= -2", int64_t{-3}));
  // Exact for large integers (no detour through double).
  EXPECT_TRUE(ops("x > 9007199254740992", int64_t{9007199254740993}));
}

TEST(TransformsTest, FilterComparesStringsAndBooleans) {
  auto eur = Make(Filter({"currency == \"EUR\""}));
  EXPECT_TRUE(Keeps(*eur, Row{{"currency", std::string("EUR")}}));
  EXPECT_FALSE(Keeps(*eur, Row{{"currency", std::string("USD")}}));
  auto after = Make(Filter({"name > \"bob\""}));
  EXPECT_TRUE(Keeps(*after, Row{{"name", std::string("carl")}}));
  EXPECT_TRUE(Keeps(*after, Row{{"name", std::string("bobby")}}));
  EXPECT_FALSE(Keeps(*after, Row{{"name", std::string("Zed")}}));  // byte order: 'Z' < 'b'
  auto quoted = Make(Filter({R"(s == "a \"q\" \\ b")"}));
  EXPECT_TRUE(Keeps(*quoted, Row{{"s", std::string("a \"q\" \\ b")}}));
  auto active = Make(Filter({"active == true"}));
  EXPECT_TRUE(Keeps(*active, Row{{"active", true}}));
  EXPECT_FALSE(Keeps(*active, Row{{"active", false}}));
  auto not_false = Make(Filter({"active != false"}));
  EXPECT_TRUE(Keeps(*not_false, Row{{"active", true}}));
}

TEST(TransformsTest, FilterDropsNullFields) {
  auto filter = Make(Filter({"amount > 0"}));
  EXPECT_FALSE(Keeps(*filter, Row{{"amount", std::monostate()}}));
  // Comparing with null tests for a null field.
  auto is_null = Make(Filter({"note == null"}));
  EXPECT_TRUE(Keeps(*is_null, Row{{"note", std::monostate()}}));
  EXPECT_FALSE(Keeps(*is_null, Row{{"note", std::string("")}}));
  auto not_null = Make(Filter({"note != null"}));
  EXPECT_FALSE(Keeps(*not_null, Row{{"note", std::monostate()}}));
  EXPECT_TRUE(Keeps(*not_null, Row{{"note", int64_t{0}}}));
}

// A filter on a field the record lacks (a typo, another schema) silently dropped every record.
TEST(TransformsTest, FilterOnAMissingFieldIsAnErrorNamingIt) {
  auto filter = Make(Filter({"amount > 0"}));
  EXPECT_EQ(ErrorOf(*filter, Row{{"amuont", int64_t{1}}}),
            "filter: field 'amount' is missing (condition 'amount > 0'); on_missing = \"null\" "
            "reads a missing field as null");
  auto is_null = Make(Filter({"note == null"}));
  EXPECT_NE(ErrorOf(*is_null, Row{}).find("field 'note' is missing"), std::string::npos);
}

TEST(TransformsTest, FilterWithNullSemanticsReadsAMissingFieldAsNull) {
  auto make = [](std::string_view condition) {
    TransformConfig config = Filter({condition});
    config.missing_as_null = true;
    return Make(config);
  };
  EXPECT_FALSE(Keeps(*make("amount > 0"), Row{{"other", int64_t{1}}}));
  EXPECT_FALSE(Keeps(*make("currency != \"EUR\""), Row{}));
  EXPECT_TRUE(Keeps(*make("note == null"), Row{}));
  EXPECT_FALSE(Keeps(*make("note != null"), Row{}));
}

// Fields that can never exist (csv with known columns, raw) are refused before any record.
TEST(TransformsTest, FieldsThatCanNeverExistAreNamedByTheirKey) {
  const std::vector<std::string> columns = {"id", "amount", "currency"};
  auto check = [&](std::vector<TransformConfig> configs) {
    Status s = CheckFieldsExist(configs, columns, "source.csv_columns");
    return s.ok() ? std::string() : s.message();
  };
  EXPECT_EQ(check({Filter({"amount > 0", "currency == \"EUR\""})}), "");
  EXPECT_EQ(check({Filter({"amount > 0", "curency == \"EUR\""})}),
            "transform[0].where[1]: field 'curency' can never exist: the rows have id, amount, "
            "currency here (source.csv_columns)");
  // Through a rename and a select: the names they leave.
  EXPECT_EQ(check({Rename({{"amount", "value"}}), Filter({"value > 0"})}), "");
  EXPECT_EQ(check({Rename({{"amount", "value"}}), Filter({"amount > 0"})}),
            "transform[1].where[0]: field 'amount' can never exist: the rows have id, value, "
            "currency here (source.csv_columns)");
  EXPECT_EQ(check({Select({"id"}), Select({"id", "amount"})}),
            "transform[1].fields[1]: field 'amount' can never exist: the rows have id here "
            "(source.csv_columns)");
  EXPECT_EQ(check({Rename({{"amt", "value"}})}).substr(0, 30), "transform[0].fields.amt: field");
  // With null semantics a missing field is asked for.
  TransformConfig lenient = Filter({"note == null"});
  lenient.missing_as_null = true;
  EXPECT_EQ(check({lenient}), "");
  TransformConfig aggregate;
  aggregate.type = TransformConfig::Type::kAggregate;
  aggregate.aggregate.key = {"user"};
  EXPECT_EQ(check({aggregate}).substr(0, 43), "transform[0].key: field 'user' can never ex");
}

TEST(TransformsTest, FilterConditionsAreAnded) {
  auto filter = Make(Filter({"amount > 0", "currency == \"EUR\""}));
  EXPECT_TRUE(Keeps(*filter, Row{{"amount", int64_t{5}}, {"currency", std::string("EUR")}}));
  EXPECT_FALSE(Keeps(*filter, Row{{"amount", int64_t{5}}, {"currency", std::string("USD")}}));
  EXPECT_FALSE(Keeps(*filter, Row{{"amount", int64_t{-5}}, {"currency", std::string("EUR")}}));
  // The first failing condition decides: the second is not evaluated.
  EXPECT_FALSE(Keeps(*filter, Row{{"amount", int64_t{-5}}, {"currency", int64_t{1}}}));
  // The filter does not change the row.
  Row row{{"amount", int64_t{5}}, {"currency", std::string("EUR")}};
  Row copy = row;
  bool keep = true;
  ASSERT_TRUE(filter->Apply(&row, &keep).ok());
  EXPECT_TRUE(keep);
  EXPECT_EQ(row, copy);
}

TEST(TransformsTest, FilterTypeMismatchIsAnError) {
  auto amount = Make(Filter({"amount > 0"}));
  EXPECT_EQ(ErrorOf(*amount, Row{{"amount", std::string("12")}}),
            "filter: field 'amount' is a string, the condition 'amount > 0' compares it with an "
            "integer");
  EXPECT_EQ(ErrorOf(*amount, Row{{"amount", true}}),
            "filter: field 'amount' is a boolean, the condition 'amount > 0' compares it with an "
            "integer");
  auto eur = Make(Filter({"currency == \"EUR\""}));
  EXPECT_EQ(ErrorOf(*eur, Row{{"currency", 1.5}}),
            "filter: field 'currency' is a float, the condition 'currency == \"EUR\"' compares it "
            "with a string");
  auto flag = Make(Filter({"ok == true"}));
  EXPECT_EQ(ErrorOf(*flag, Row{{"ok", int64_t{1}}}),
            "filter: field 'ok' is an integer, the condition 'ok == true' compares it with a "
            "boolean");
  auto rate = Make(Filter({"rate < 0.1"}));
  EXPECT_EQ(ErrorOf(*rate, Row{{"rate", std::string("low")}}),
            "filter: field 'rate' is a string, the condition 'rate < 0.1' compares it with a "
            "float");
}

TEST(TransformsTest, TransformsRunInSequence) {
  Result<std::vector<std::unique_ptr<RowTransform>>> transforms = MakeTransforms(
      {Filter({"amount > 0"}), Rename({{"from", "src"}}), Select({"src", "amount"})});
  ASSERT_TRUE(transforms.has_value()) << transforms.error().ToString();
  ASSERT_EQ(transforms->size(), 3u);
  Row row{{"id", int64_t{9}}, {"amount", int64_t{10}}, {"from", int64_t{4}}};
  for (const auto& transform : *transforms) {
    bool keep = true;
    ASSERT_TRUE(transform->Apply(&row, &keep).ok());
    ASSERT_TRUE(keep);
  }
  EXPECT_EQ(row, (Row{{"src", int64_t{4}}, {"amount", int64_t{10}}}));
}

TEST(TransformsTest, MakeTransformsRefusesConfigsThatCannotWork) {
  auto error = [](TransformConfig config) {
    Result<std::vector<std::unique_ptr<RowTransform>>> t = MakeTransforms({Select({"a"}), config});
    EXPECT_FALSE(t.has_value());
    return t.has_value() ? std::string() : t.error().message();
  };
  EXPECT_EQ(error(Select({})), "transform 1: select: no fields");
  EXPECT_EQ(error(Select({"a", "a"})), "transform 1: select: 'a' is listed twice");
  EXPECT_EQ(error(Rename({{"a", "x"}, {"b", "x"}})),
            "transform 1: rename: 'b' -> 'x' repeats a name of an earlier rename");
  EXPECT_EQ(error(Filter({})), "transform 1: filter: no conditions");
  TransformConfig bad_op = Filter({"a == 1"});
  bad_op.conditions[0].op = "=~";
  EXPECT_EQ(error(bad_op),
            "transform 1: filter: unknown operator '=~' (expected ==, !=, <, <=, >, >=)");
  TransformConfig bool_order = Filter({"a == true"});
  bool_order.conditions[0].op = "<";
  EXPECT_EQ(error(bool_order), "transform 1: filter: 'a < true': '<' needs a number or a string");
}

TEST(TransformsTest, ParseConditionReadsEveryLiteral) {
  auto parse = [](std::string_view text) {
    Result<Condition> c = ParseCondition(text);
    EXPECT_TRUE(c.has_value()) << text << ": " << c.error().ToString();
    return c.value_or(Condition{});
  };
  Condition c = parse("  amount>=10  ");
  EXPECT_EQ(c.field, "amount");
  EXPECT_EQ(c.op, ">=");
  EXPECT_EQ(c.literal, Value(int64_t{10}));
  EXPECT_EQ(parse("x < -2.5e1").literal, Value(-25.0));
  EXPECT_EQ(parse("x == \"\"").literal, Value(std::string()));
  EXPECT_EQ(parse("x != null").literal, Value());
  EXPECT_EQ(parse("user.id == 3").field, "user.id");
  EXPECT_EQ(ConditionToString(parse("s == \"a\\\"b\"")), "s == \"a\\\"b\"");
  EXPECT_EQ(ConditionToString(parse("x <= 0.1")), "x <= 0.1");
  EXPECT_EQ(ConditionToString(parse("x != null")), "x != null");
}

TEST(TransformsTest, ParseConditionErrors) {
  auto error = [](std::string_view text) {
    Result<Condition> c = ParseCondition(text);
    EXPECT_FALSE(c.has_value()) << text;
    return c.has_value() ? std::string() : c.error().message();
  };
  EXPECT_EQ(error(""), "expected a field name first");
  EXPECT_EQ(error("== 1"), "expected a field name first");
  EXPECT_EQ(error("x"), "expected an operator (==, !=, <, <=, >, >=) after 'x'");
  EXPECT_EQ(error("x =="), "expected a value after '=='");
  EXPECT_EQ(error("x == \"open"), "unterminated string");
  EXPECT_EQ(error("x == \"a\" b"), "unexpected text after the closing quote");
  EXPECT_EQ(error("x > null"), "'>' needs a number or a string, got null");
  EXPECT_EQ(error("x == inf"),
            "expected a number, true, false, null or a \"quoted string\" after '==', got 'inf'");
}

}  // namespace
}  // namespace onceflow::operators
