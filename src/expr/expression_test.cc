// Evaluating expressions: values, SQL's NULL semantics (three-valued logic), CASE, functions,
// and the failures a row can cause (each naming the column), which become dead letters.
#include "expr/expression.h"

#include <gtest/gtest.h>

#include <cmath>

namespace onceflow::expr {
namespace {

const Row kRow = {
    {"price", int64_t{1000}},
    {"ratio", 0.5},
    {"name", std::string("Apple")},
    {"url", std::string("https://www.nexmark.com/abc/def/item.htm?query=1&channel_id=77")},
    {"t", int64_t{1700000000123}},  // 2023-11-14 22:13:20.123 UTC
    {"yes", true},
    {"no", false},
    {"nothing", Value()},
    {"zero", int64_t{0}}};

// The value of `text` on kRow (a failure: the string "error: <message>").
Value Eval(std::string_view text, const Row& row = kRow, bool missing_as_null = false) {
  Result<std::unique_ptr<Expression>> e = Expression::Compile(text);
  if (!e.has_value()) return "compile error: " + e.error().message();
  EvalContext ctx;
  Value out;
  Status s = (*e)->Evaluate(row, missing_as_null, &ctx, &out);
  if (!s.ok()) return "error: " + s.message();
  return out;
}

const Value kNull;
const Value kTrue(true);
const Value kFalse(false);

TEST(ExpressionTest, Arithmetic) {
  EXPECT_EQ(Eval("price * 0.908"), Value(908.0));
  EXPECT_EQ(Eval("price + 1"), Value(int64_t{1001}));
  EXPECT_EQ(Eval("price / 3"), Value(int64_t{333}));  // BIGINT / BIGINT truncates
  EXPECT_EQ(Eval("-7 / 2"), Value(int64_t{-3}));
  EXPECT_EQ(Eval("price / 400.0"), Value(2.5));
  EXPECT_EQ(Eval("-7 % 3"), Value(int64_t{-1}));
  EXPECT_EQ(Eval("MOD(price, 123)"), Value(int64_t{16}));
  EXPECT_EQ(Eval("MOD(price, 123) = 16"), kTrue);
  EXPECT_EQ(Eval("-price"), Value(int64_t{-1000}));
  EXPECT_EQ(Eval("ABS(-2.5)"), Value(2.5));
  EXPECT_EQ(Eval("FLOOR(ratio + 1)"), Value(1.0));
  EXPECT_EQ(Eval("CEIL(ratio)"), Value(1.0));
  EXPECT_EQ(Eval("FLOOR(price)"), Value(int64_t{1000}));
  EXPECT_EQ(Eval("1 + 2 * 3 - 4"), Value(int64_t{3}));
  EXPECT_EQ(Eval("(1 + 2) * 3"), Value(int64_t{9}));
}

TEST(ExpressionTest, FailuresNameTheColumn) {
  EXPECT_EQ(Eval("price / zero"), Value("error: column 7: division by zero"));
  EXPECT_EQ(Eval("price % zero"), Value("error: column 7: division by zero"));
  EXPECT_EQ(Eval("ratio / 0.0"), Value("error: column 7: division by zero"));
  EXPECT_EQ(Eval("MOD(price, zero)"), Value("error: column 1: division by zero"));
  EXPECT_EQ(Eval("9223372036854775807 + price"), Value("error: column 21: BIGINT overflow in '+'"));
  EXPECT_EQ(Eval("name * 2"), Value("error: column 6: '*' needs numbers, got VARCHAR 'Apple'"));
  EXPECT_EQ(Eval("REGEXP_EXTRACT(price, 'a')"),
            Value("error: column 16: REGEXP_EXTRACT's argument 1 must be VARCHAR, got BIGINT "
                  "1000"));
  EXPECT_EQ(Eval("LOWER(yes)"),
            Value("error: column 7: LOWER's argument 1 must be VARCHAR, got BOOLEAN true"));
  EXPECT_EQ(Eval("name > 1"),
            Value("error: column 6: cannot compare VARCHAR 'Apple' with BIGINT 1"));
  EXPECT_EQ(Eval("missing + 1"),
            Value("error: column 1: field 'missing' is missing; on_missing = \"null\" reads a "
                  "missing field as null"));
  EXPECT_EQ(Eval("missing + 1", kRow, /*missing_as_null=*/true), kNull);
  EXPECT_EQ(Eval("CAST(name AS BIGINT)"),
            Value("error: column 1: cannot cast VARCHAR 'Apple' to BIGINT"));
  EXPECT_EQ(Eval("price AND yes"),
            Value("error: column 7: AND needs BOOLEAN operands, got BIGINT 1000"));
}

// SQL's truth tables: TRUE, FALSE and NULL (unknown).
TEST(ExpressionTest, ThreeValuedLogic) {
  struct Case {
    const char* text;
    Value want;
  };
  const Case cases[] = {
      {"yes AND yes", kTrue},
      {"yes AND no", kFalse},
      {"yes AND nothing", kNull},
      {"no AND nothing", kFalse},
      {"nothing AND no", kFalse},
      {"nothing AND nothing", kNull},
      {"yes OR nothing", kTrue},
      {"nothing OR yes", kTrue},
      {"no OR nothing", kNull},
      {"no OR no", kFalse},
      {"nothing OR nothing", kNull},
      {"NOT nothing", kNull},
      {"NOT no", kTrue},
      {"nothing = 1", kNull},
      {"nothing != 1", kNull},
      {"nothing IS NULL", kTrue},
      {"price IS NULL", kFalse},
      {"nothing IS NOT NULL", kFalse},
      {"nothing + 1", kNull},
      {"-nothing", kNull},
      {"nothing || 'a'", kNull},
      {"LOWER(nothing)", kNull},
      {"price IN (1, 1000)", kTrue},
      {"price IN (1, 2)", kFalse},
      {"price IN (1, nothing)", kNull},
      {"price NOT IN (1, nothing)", kNull},
      {"price NOT IN (1, 2)", kTrue},
      {"nothing IN (1)", kNull},
      {"COALESCE(nothing, 3)", Value(int64_t{3})},
      {"COALESCE(nothing, nothing)", kNull},
      {"CAST(nothing AS BIGINT)", kNull},
      {"nothing / zero", kNull},
  };
  for (const Case& c : cases) EXPECT_EQ(Eval(c.text), c.want) << c.text;
}

TEST(ExpressionTest, ComparisonsAndConcatenation) {
  EXPECT_EQ(Eval("price = 1000.0"), kTrue);  // BIGINT with DOUBLE
  EXPECT_EQ(Eval("price == 1000 AND price <> 1"), kTrue);
  EXPECT_EQ(Eval("name < 'B' AND name >= 'Apple'"), kTrue);
  EXPECT_EQ(Eval("yes = true"), kTrue);
  EXPECT_EQ(Eval("name || '-' || price || '-' || ratio || yes"), Value("Apple-1000-0.5true"));
  EXPECT_EQ(Eval("CONCAT(name, 1, 'x')"), Value("Apple1x"));
  EXPECT_EQ(Eval("CONCAT(name, nothing)"), kNull);
  EXPECT_EQ(Eval("CAST(ratio AS VARCHAR)"), Value("0.5"));
  EXPECT_EQ(Eval("CAST('12' AS BIGINT) + CAST(' 1.5 ' AS DOUBLE)"), Value(13.5));
  EXPECT_EQ(Eval("CAST(-2.7 AS BIGINT)"), Value(int64_t{-2}));
  EXPECT_EQ(Eval("CAST('true' AS BOOLEAN)"), kTrue);
}

TEST(ExpressionTest, Case) {
  const char* kind =
      "CASE WHEN price > 5000 THEN 'high' WHEN price > 500 THEN 'mid' ELSE 'low' END";
  EXPECT_EQ(Eval(kind), Value("mid"));
  EXPECT_EQ(Eval("CASE WHEN nothing THEN 1 WHEN no THEN 2 END"), kNull);  // NULL is not TRUE
  EXPECT_EQ(Eval("CASE WHEN yes THEN 1 ELSE 0.5 END"), Value(1.0));       // widened to DOUBLE
  EXPECT_EQ(Eval("CASE LOWER(name) WHEN 'apple' THEN 0 WHEN 'google' THEN 1 END"),
            Value(int64_t{0}));
  EXPECT_EQ(Eval("CASE name WHEN 'x' THEN 0 ELSE price / zero END"),
            Value("error: column 38: division by zero"));
  EXPECT_EQ(Eval("CASE WHEN yes THEN 1 ELSE price / zero END"), Value(int64_t{1}));  // lazy
}

TEST(ExpressionTest, StringFunctions) {
  EXPECT_EQ(Eval("LOWER(name) || UPPER(name)"), Value("appleAPPLE"));
  EXPECT_EQ(Eval("LENGTH('h\xc3\xa9llo')"), Value(int64_t{5}));
  EXPECT_EQ(Eval("COUNT_CHAR('accbc', 'c')"), Value(int64_t{3}));
  EXPECT_EQ(Eval("SPLIT_INDEX(url, '/', 3)"), Value("abc"));
  EXPECT_EQ(Eval("SPLIT_INDEX(url, '/', 1)"), Value(""));
  EXPECT_EQ(Eval("SPLIT_INDEX(url, '/', 9)"), kNull);
  EXPECT_EQ(Eval("SPLIT_INDEX(url, '/', -1)"), kNull);
  EXPECT_EQ(Eval("SPLIT_INDEX('a--b', '--', 1)"), Value("b"));
  EXPECT_EQ(Eval("REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)"), Value("77"));
  EXPECT_EQ(Eval("REGEXP_EXTRACT(url, 'query=\\d+')"), Value("query=1"));
  EXPECT_EQ(Eval("REGEXP_EXTRACT(url, 'nomatch(x)', 1)"), kNull);
  EXPECT_EQ(Eval("REGEXP_EXTRACT(url, '(zzz)|(q)', 1)"), kNull);  // group 1 took no part
  EXPECT_EQ(Eval("REGEXP_EXTRACT(url, '(q)', price)"),
            Value("error: column 28: REGEXP_EXTRACT: the pattern has no group 1000 (it has 1)"));
}

TEST(ExpressionTest, TimeHelpersReadEpochMillisInUtc) {
  EXPECT_EQ(Eval("YEAR(t) * 10000 + MONTH(t) * 100 + DAY(t)"), Value(int64_t{20231114}));
  EXPECT_EQ(Eval("HOUR(t)"), Value(int64_t{22}));
  EXPECT_EQ(Eval("MINUTE(t) * 100 + SECOND(t)"), Value(int64_t{1320}));
  EXPECT_EQ(Eval("DATE_FORMAT(t, 'yyyy-MM-dd HH:mm:ss.SSS')"), Value("2023-11-14 22:13:20.123"));
  EXPECT_EQ(Eval("DATE_FORMAT(0 - 1, 'yyyy-MM-dd HH')"), Value("1969-12-31 23"));
  EXPECT_EQ(Eval("DATE_FORMAT(951782400000, 'yyyy-MM-dd')"), Value("2000-02-29"));
}

TEST(ExpressionTest, OneExpressionEvaluatesManyRowsWithOneContext) {
  Result<std::unique_ptr<Expression>> e = Expression::Compile("UPPER(s) || '!'");
  ASSERT_TRUE(e.has_value());
  EvalContext ctx;
  for (int i = 0; i < 100; ++i) {
    Row row = {{"s", "r" + std::to_string(i)}};
    Value out;
    ASSERT_TRUE((*e)->Evaluate(row, false, &ctx, &out).ok());
    EXPECT_EQ(out, Value("R" + std::to_string(i) + "!"));
  }
  Row bad = {{"s", int64_t{1}}};
  Value out;
  EXPECT_FALSE((*e)->Evaluate(bad, false, &ctx, &out).ok());
  Row good = {{"s", "ok"}};
  ASSERT_TRUE((*e)->Evaluate(good, false, &ctx, &out).ok());  // a failure does not stick
  EXPECT_EQ(out, Value("OK!"));
}

}  // namespace
}  // namespace onceflow::expr
