// ONCEFLOW_CHECK and ONCEFLOW_DCHECK: what a failure prints, and that a passing check does nothing.
#include "util/check.h"

#include <gtest/gtest.h>

namespace onceflow {
namespace {

class CheckDeathTest : public ::testing::Test {
 protected:
  // Fork and exec for each death test: safe with the threads a sanitizer runtime starts.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(CheckDeathTest, PassingCheckEvaluatesOnceAndDoesNothing) {
  int evaluated = 0;
  ONCEFLOW_CHECK(++evaluated == 1) << "not streamed";
  EXPECT_EQ(evaluated, 1);
}

TEST_F(CheckDeathTest, FailureNamesFileLineAndCondition) {
  const int offset = 7;
  EXPECT_DEATH(ONCEFLOW_CHECK(offset < 5),
               "^[^\n]*check_test\\.cc:[0-9]+: CHECK failed: offset < 5\n$");
}

TEST_F(CheckDeathTest, FailureAppendsTheStreamedMessage) {
  const int offset = 7;
  EXPECT_DEATH(ONCEFLOW_CHECK(offset < 5) << "offset " << offset << " past the end",
               "CHECK failed: offset < 5: offset 7 past the end\n$");
}

TEST_F(CheckDeathTest, CheckIsAStatementInAnUnbracedIf) {
  // The macro is one expression: an `else` after it binds to the caller's `if`.
  bool took_else = false;
  if (false)
    ONCEFLOW_CHECK(false);
  else
    took_else = true;
  EXPECT_TRUE(took_else);
}

TEST_F(CheckDeathTest, DcheckIsOnOnlyWithoutNdebug) {
  int evaluated = 0;
  ONCEFLOW_DCHECK(++evaluated == 1);
  if (ONCEFLOW_DCHECK_IS_ON()) {
    EXPECT_EQ(evaluated, 1);
    EXPECT_DEATH(ONCEFLOW_DCHECK(evaluated == 2), "CHECK failed: evaluated == 2");
  } else {
    EXPECT_EQ(evaluated, 0);  // compiled, never evaluated
    ONCEFLOW_DCHECK(evaluated == 2);
  }
}

}  // namespace
}  // namespace onceflow
