// The compute transform and expression conditions as row transforms: fields set in order (a
// later expression sees an earlier one), replaced in place or appended, failures naming the
// field, the expression and the column.
#include "operators/compute_transform.h"

#include <gtest/gtest.h>

#include "config/condition.h"

namespace onceflow::operators {
namespace {

using config::TransformConfig;

std::unique_ptr<RowTransform> Make(std::vector<std::pair<std::string, std::string>> computed,
                                   bool missing_as_null = false) {
  TransformConfig t;
  t.type = TransformConfig::Type::kCompute;
  t.computed = std::move(computed);
  t.missing_as_null = missing_as_null;
  auto made = MakeTransforms({t});
  EXPECT_TRUE(made.has_value()) << made.error().ToString();
  return made.has_value() ? std::move((*made)[0]) : nullptr;
}

TEST(ComputeTransformTest, FieldsAreSetInOrderReplacingOrAppending) {
  auto t = Make({{"price", "price * 2"}, {"total", "price + fee"}, {"fee", "NULL"}});
  Row row = {{"price", int64_t{10}}, {"fee", int64_t{1}}};
  bool keep = true;
  ASSERT_TRUE(t->Apply(&row, &keep).ok());
  EXPECT_TRUE(keep);
  EXPECT_EQ(row, (Row{{"price", int64_t{20}}, {"fee", Value()}, {"total", int64_t{21}}}));
}

TEST(ComputeTransformTest, AFailureNamesTheFieldTheExpressionAndTheColumn) {
  auto t = Make({{"ok", "1"}, {"per_unit", "price / qty"}});
  Row row = {{"price", int64_t{10}}, {"qty", int64_t{0}}};
  bool keep = true;
  Status s = t->Apply(&row, &keep);
  EXPECT_EQ(s.message(), "compute: per_unit = 'price / qty': column 7: division by zero");
  Row no_qty = {{"price", int64_t{10}}};
  EXPECT_EQ(t->Apply(&no_qty, &keep).message(),
            "compute: per_unit = 'price / qty': column 9: field 'qty' is missing; on_missing = "
            "\"null\" reads a missing field as null");
  auto lenient = Make({{"per_unit", "price / qty"}}, /*missing_as_null=*/true);
  Row again = {{"price", int64_t{10}}};
  ASSERT_TRUE(lenient->Apply(&again, &keep).ok());
  EXPECT_EQ(again, (Row{{"price", int64_t{10}}, {"per_unit", Value()}}));
}

TEST(ComputeTransformTest, ExpressionConditionsKeepOnlyTrue) {
  TransformConfig t;
  t.type = TransformConfig::Type::kFilter;
  for (const char* text : {"MOD(a, 2) = 0 OR b IS NULL", "a > 0"}) {
    t.conditions.push_back(config::ParseWhere(text).value());
  }
  auto made = MakeTransforms({t});
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  const RowTransform& filter = *(*made)[0];
  auto kept = [&](Row row) {
    bool keep = true;
    EXPECT_TRUE(filter.Apply(&row, &keep).ok());
    return keep;
  };
  EXPECT_TRUE(kept({{"a", int64_t{2}}, {"b", int64_t{1}}}));
  EXPECT_FALSE(kept({{"a", int64_t{3}}, {"b", int64_t{1}}}));
  EXPECT_TRUE(kept({{"a", int64_t{3}}, {"b", Value()}}));
  EXPECT_FALSE(kept({{"a", Value()}, {"b", int64_t{1}}}));  // NULL OR FALSE is NULL: dropped
  bool keep = true;
  Row text = {{"a", std::string("x")}, {"b", Value()}};
  EXPECT_EQ(filter.Apply(&text, &keep).message(),
            "filter: 'MOD(a, 2) = 0 OR b IS NULL': column 1: '%' needs numbers, got VARCHAR "
            "'x'");
}

}  // namespace
}  // namespace onceflow::operators
