#include "onceflow/row.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "util/row_json.h"

namespace onceflow {
namespace {

TEST(RowTest, SetGetReplaceRemove) {
  Row r{{"id", int64_t{1}}, {"name", std::string("ann")}};
  r.Set("amount", 2.5);
  r.Set("id", int64_t{7});
  EXPECT_EQ(r.size(), 3U);
  EXPECT_EQ(r.GetInt("id"), 7);
  EXPECT_EQ(r.GetDouble("id"), 7.0);
  EXPECT_EQ(r.GetString("name"), "ann");
  EXPECT_FALSE(r.GetInt("name").has_value());
  EXPECT_TRUE(r.Remove("name"));
  EXPECT_FALSE(r.Has("name"));
  EXPECT_EQ(r.ToJson(), "{\"id\":7,\"amount\":2.5}");
}

TEST(RowTest, JsonEscapes) {
  Row r{{"s", std::string("a\"b\\\n")}, {"n", Value()}, {"b", true}};
  EXPECT_EQ(r.ToJson(), "{\"s\":\"a\\\"b\\\\\\n\",\"n\":null,\"b\":true}");
}

TEST(RowTest, AppendRowJsonAppendsToJsonsTextAfterWhatIsThere) {
  const Row r{{"min", std::numeric_limits<int64_t>::min()},
              {"zero", int64_t{0}},
              {"d", 0.1},
              {"s", std::string("long plain text, then a \"quote\" and \x01 and \xff kept")}};
  std::string out = "[";
  AppendRowJson(&out, r);
  EXPECT_EQ(out, "[" + r.ToJson());
  EXPECT_EQ(r.ToJson(),
            "{\"min\":-9223372036854775808,\"zero\":0,\"d\":0.10000000000000001,"
            "\"s\":\"long plain text, then a \\\"quote\\\" and \\u0001 and \xff kept\"}");
  EXPECT_EQ(Row().ToJson(), "{}");
}

TEST(RowTest, AppendRowJsonWritesNumbersAsValueToStringDoes) {
  for (double d : {0.1, -0.0, 1e300, 5e-324, 123456789.125, 0.908 * 7, 1.0, -2.5e-7,
                   std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::max()}) {
    std::string out;
    AppendRowJson(&out, Row{{"d", d}});
    EXPECT_EQ(out, "{\"d\":" + ValueToString(d) + "}") << d;
  }
  for (int64_t n : {int64_t{0}, int64_t{-1}, int64_t{42}, std::numeric_limits<int64_t>::max()}) {
    std::string out;
    AppendRowJson(&out, Row{{"n", n}});
    EXPECT_EQ(out, "{\"n\":" + ValueToString(n) + "}") << n;
  }
}

}  // namespace
}  // namespace onceflow
