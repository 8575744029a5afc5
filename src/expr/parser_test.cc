// The expression language's parser and type checker: what is read, and the errors, each
// naming the column.
#include "expr/parser.h"

#include <gtest/gtest.h>

#include "expr/expression.h"
#include "expr/type_check.h"

namespace onceflow::expr {
namespace {

// The error of compiling `text` ("" if it compiles).
std::string ErrorOf(std::string_view text) {
  Result<std::unique_ptr<Expression>> e = Expression::Compile(text);
  return e.has_value() ? std::string() : e.error().message();
}

Type TypeOfText(std::string_view text) {
  Result<std::unique_ptr<Expression>> e = Expression::Compile(text);
  EXPECT_TRUE(e.has_value()) << text << ": " << e.error().message();
  return e.has_value() ? (*e)->type() : Type::kAny;
}

TEST(ParserTest, PrecedenceFollowsSql) {
  Result<std::unique_ptr<Node>> n = Parse("a OR b AND NOT c = 1 + 2 * 3");
  ASSERT_TRUE(n.has_value()) << n.error().message();
  const Node& root = **n;
  EXPECT_EQ(root.op, "OR");
  const Node& and_node = *root.children[1];
  EXPECT_EQ(and_node.op, "AND");
  const Node& not_node = *and_node.children[1];
  EXPECT_EQ(not_node.op, "NOT");
  const Node& eq = *not_node.children[0];
  EXPECT_EQ(eq.op, "=");
  const Node& plus = *eq.children[1];
  EXPECT_EQ(plus.op, "+");
  EXPECT_EQ(plus.children[1]->op, "*");
  EXPECT_EQ(plus.column, 22);
}

TEST(ParserTest, LiteralsFieldsAndKeywordsInAnyCase) {
  auto literal = [](std::string_view text) {
    Result<std::unique_ptr<Node>> n = Parse(text);
    EXPECT_TRUE(n.has_value()) << text;
    return n.has_value() ? (*n)->literal : Value("?");
  };
  EXPECT_EQ(literal("42"), Value(int64_t{42}));
  EXPECT_EQ(literal("-9223372036854775808"), Value(INT64_MIN));
  EXPECT_EQ(literal("1.5e3"), Value(1500.0));
  EXPECT_EQ(literal(".5"), Value(0.5));
  EXPECT_EQ(literal("'it''s'"), Value("it's"));
  EXPECT_EQ(literal("'a\\d'"), Value("a\\d"));  // a backslash is itself in '...'
  EXPECT_EQ(literal("\"a\\\"b\""), Value("a\"b"));
  EXPECT_EQ(literal("null"), Value());
  EXPECT_EQ(literal("True"), Value(true));
  Result<std::unique_ptr<Node>> field = Parse("`odd name`");
  ASSERT_TRUE(field.has_value());
  EXPECT_EQ((*field)->kind, Node::Kind::kField);
  EXPECT_EQ((*field)->name, "odd name");
  EXPECT_EQ((*Parse("user.id"))->name, "user.id");
  EXPECT_EQ(TypeOfText("case when x then 1 else 2.5 end"), Type::kDouble);
  EXPECT_EQ(TypeOfText("CAST(x AS varchar)"), Type::kString);
  EXPECT_EQ(TypeOfText("x NOT IN (1, 2)"), Type::kBool);
  EXPECT_EQ(TypeOfText("price * 0.908"), Type::kAny);
  EXPECT_EQ(TypeOfText("1 + 2"), Type::kInt);
  EXPECT_EQ(TypeOfText("1 + 2.0"), Type::kDouble);
  EXPECT_EQ(TypeOfText("a || 1"), Type::kString);
  EXPECT_EQ(TypeOfText("coalesce(NULL, 1, 2.5)"), Type::kDouble);
  EXPECT_EQ(TypeOfText("hour(date_time)"), Type::kInt);
}

TEST(ParserTest, SyntaxErrorsNameTheColumn) {
  EXPECT_EQ(ErrorOf(""), "column 1: expected an expression, got the end");
  EXPECT_EQ(ErrorOf("price *"), "column 8: expected an expression, got the end");
  EXPECT_EQ(ErrorOf("a b"), "column 3: expected an operator or the end, got 'b'");
  EXPECT_EQ(ErrorOf("(a + 1"), "column 7: expected ')', got the end");
  EXPECT_EQ(ErrorOf("a ? b"), "column 3: unexpected '?'");
  EXPECT_EQ(ErrorOf("'open"), "column 1: unterminated string");
  EXPECT_EQ(ErrorOf("12abc"), "column 3: unexpected 'a' after the number '12'");
  EXPECT_EQ(ErrorOf("99999999999999999999"),
            "column 1: the integer 99999999999999999999 is out of the BIGINT range");
  EXPECT_EQ(ErrorOf("CASE WHEN a THEN 1"), "column 19: expected END, got the end");
  EXPECT_EQ(ErrorOf("CASE END"), "column 6: expected WHEN, got 'END'");
  EXPECT_EQ(ErrorOf("CAST(a AS DATE)"),
            "column 11: expected a type (BIGINT, DOUBLE, VARCHAR or BOOLEAN), got 'DATE'");
  EXPECT_EQ(ErrorOf("a IS 1"), "column 6: expected NULL, got '1'");
  EXPECT_EQ(ErrorOf("a AND"), "column 6: expected an expression, got the end");
  EXPECT_EQ(ErrorOf(std::string(300, '(') + "1" + std::string(300, ')')).substr(0, 10),
            "column 201");
  std::string chain = "1";
  for (int i = 0; i < 300; ++i) chain += " + 1";
  EXPECT_EQ(ErrorOf(chain).find("nested too deeply") != std::string::npos, true) << chain;
}

TEST(ParserTest, TypeErrorsNameTheColumn) {
  EXPECT_EQ(ErrorOf("FOO(a)"),
            "column 1: unknown function FOO (known: ABS, CEIL, CEILING, CHAR_LENGTH, COALESCE, "
            "CONCAT, COUNT_CHAR, DATE_FORMAT, DAY, FLOOR, HOUR, LENGTH, LOWER, MINUTE, MOD, "
            "MONTH, REGEXP_EXTRACT, SECOND, SPLIT_INDEX, UPPER, YEAR)");
  EXPECT_EQ(ErrorOf("lower(a, b)"), "column 1: LOWER takes 1 argument, got 2");
  EXPECT_EQ(ErrorOf("SPLIT_INDEX(url, '/')"), "column 1: SPLIT_INDEX takes 3 arguments, got 2");
  EXPECT_EQ(ErrorOf("REGEXP_EXTRACT(a)"), "column 1: REGEXP_EXTRACT takes 2 or 3 arguments, got 1");
  EXPECT_EQ(ErrorOf("price * 'x'"), "column 7: '*' needs numbers, got VARCHAR");
  EXPECT_EQ(ErrorOf("NOT 5"), "column 1: NOT needs a BOOLEAN, got BIGINT");
  EXPECT_EQ(ErrorOf("a = 1 AND 2"), "column 7: AND needs BOOLEAN operands, got BIGINT");
  EXPECT_EQ(ErrorOf("x = NULL"),
            "column 3: '= NULL' is never true in SQL: use IS NULL or IS NOT NULL");
  EXPECT_EQ(ErrorOf("1 < 'a'"), "column 3: cannot compare BIGINT with VARCHAR");
  EXPECT_EQ(ErrorOf("true < x"), "column 6: '<' needs numbers or strings, got BOOLEAN");
  EXPECT_EQ(ErrorOf("CASE WHEN a THEN 1 ELSE 'x' END"),
            "column 25: the CASE's results have types BIGINT and VARCHAR");
  EXPECT_EQ(ErrorOf("CASE WHEN 1 THEN 1 END"), "column 11: WHEN needs a BOOLEAN, got BIGINT");
  EXPECT_EQ(ErrorOf("REGEXP_EXTRACT(url, pattern)"),
            "column 21: REGEXP_EXTRACT's pattern must be a string literal (it is compiled "
            "once, at start)");
  EXPECT_EQ(ErrorOf("REGEXP_EXTRACT(url, 'a(b')"),
            "column 21: bad regular expression: missing ): a(b");
  EXPECT_EQ(ErrorOf("REGEXP_EXTRACT(url, 'a(b)', 2)"),
            "column 29: the pattern has no group 2 (it has 1)");
  EXPECT_EQ(ErrorOf("SPLIT_INDEX(url, '/', 1.5)"),
            "column 23: SPLIT_INDEX's argument 3 must be a BIGINT, got DOUBLE");
  EXPECT_EQ(ErrorOf("CAST(true AS BIGINT)"), "column 1: cannot cast BOOLEAN to BIGINT");
  EXPECT_EQ(ErrorOf("DATE_FORMAT(t, 'yyyy-MM-dd EEE')"),
            "column 16: DATE_FORMAT's format knows yyyy, MM, dd, HH, mm, ss and SSS, got 'EEE'");
  EXPECT_EQ(ErrorOf("COALESCE(1, 'a')"),
            "column 13: COALESCE's arguments have types BIGINT and VARCHAR");
}

TEST(ParserTest, FieldsAreListedOnceInOrder) {
  Result<std::unique_ptr<Expression>> e =
      Expression::Compile("CASE WHEN b > 1 THEN a ELSE b END + `c d` + a");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ((*e)->fields(), (std::vector<std::string>{"b", "a", "c d"}));
}

}  // namespace
}  // namespace onceflow::expr
