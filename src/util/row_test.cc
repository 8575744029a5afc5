#include "onceflow/row.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace onceflow
