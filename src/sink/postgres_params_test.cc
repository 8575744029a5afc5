// TranslateNamedParameters: :field to $n outside literals, identifiers, comments and casts.
#include "sink/postgres_params.h"

#include <gtest/gtest.h>

namespace onceflow::sink {
namespace {

TEST(PostgresParamsTest, NamedParametersBecomePositionalInOrderOfFirstUse) {
  auto r = TranslateNamedParameters(
      "INSERT INTO accounts(id, balance) VALUES(:from, -:amount) ON CONFLICT(id) DO UPDATE "
      "SET balance = accounts.balance - :amount");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->sql, "INSERT INTO accounts(id, balance) VALUES($1, -$2) ON CONFLICT(id) DO UPDATE "
                    "SET balance = accounts.balance - $2");
  EXPECT_EQ(r->fields, (std::vector<std::string>{"from", "amount"}));
}

TEST(PostgresParamsTest, LiteralsIdentifiersCommentsAndCastsAreLeftAlone) {
  auto r = TranslateNamedParameters(
      "SELECT ':a', 'it''s :b', E'\\' :c', \"col:d\", $$ :e $$, $t$ :f $t$, :g::int, "
      ":h::text -- :i\n, /* :j /* :k */ :l */ :m, x::jsonb, $x:n");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->sql, "SELECT ':a', 'it''s :b', E'\\' :c', \"col:d\", $$ :e $$, $t$ :f $t$, $1::int, "
                    "$2::text -- :i\n, /* :j /* :k */ :l */ $3, x::jsonb, $x$4");
  EXPECT_EQ(r->fields, (std::vector<std::string>{"g", "h", "m", "n"}));
}

TEST(PostgresParamsTest, ErrorsNameTheByte) {
  struct Case {
    const char* sql;
    const char* expected;
  };
  for (const Case& c :
       {Case{"UPDATE t SET a = $1", "at byte 17: parameter $1 is positional"},
        Case{"SELECT 'abc", "at byte 7: a string literal is not closed"},
        Case{"SELECT \"abc", "at byte 7: a quoted identifier is not closed"},
        Case{"SELECT 1 /* x", "at byte 9: a /* comment is not closed"},
        Case{"SELECT $q$ x", "at byte 7: a $q$ string is not closed"},
        Case{"  commit", "transaction control"}, Case{"SAVEPOINT x", "transaction control"},
        Case{"begin; select 1", "transaction control"}}) {
    auto r = TranslateNamedParameters(c.sql);
    ASSERT_FALSE(r.has_value()) << c.sql;
    EXPECT_TRUE(r.error().IsInvalidArgument());
    EXPECT_NE(r.error().message().find(c.expected), std::string::npos)
        << c.sql << ": " << r.error().message();
  }
}

}  // namespace
}  // namespace onceflow::sink
