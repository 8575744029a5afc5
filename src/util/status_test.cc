#include "onceflow/status.h"

#include <gtest/gtest.h>

namespace onceflow {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Err(Status::InvalidArgument("odd"));
  return x / 2;
}

Result<int> Quarter(int x) {
  ONCEFLOW_ASSIGN_OR_RETURN(int h, Half(x));
  ONCEFLOW_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckQuarter(int x) {
  ONCEFLOW_RETURN_IF_ERROR(Quarter(x));
  return Status::Ok();
}

TEST(StatusTest, MacrosPropagate) {
  EXPECT_EQ(Quarter(8).value(), 2);
  EXPECT_TRUE(Quarter(6).error().IsInvalidArgument());
  EXPECT_TRUE(CheckQuarter(8).ok());
  EXPECT_EQ(CheckQuarter(2).ToString(), "invalid_argument: odd");
}

TEST(StatusTest, RetryableAndContext) {
  EXPECT_TRUE(Status::IoError("x").retryable());
  EXPECT_FALSE(Status::Corruption("x").retryable());
  Status s = Status::Corruption("bad crc").WithContext("segment 00.log");
  EXPECT_EQ(s.message(), "segment 00.log: bad crc");
  EXPECT_TRUE(s.IsCorruption());
}

}  // namespace
}  // namespace onceflow
