// The state task of a key is part of the state store's format (docs/formats/state.md): these
// values must never change, or an existing store would route keys to the wrong task.
#include "operators/keyed_operator.h"

#include <gtest/gtest.h>

#include <string>

namespace onceflow::operators {
namespace {

TEST(StateTaskOfTest, HashIsPinnedByTheStateFormat) {
  // h starts at 1469598103934665603 (FNV-1a's offset basis without its last digit: the format).
  EXPECT_EQ(StateTaskOf("", 4), 3);
  EXPECT_EQ(StateTaskOf("", 7), 3);
  EXPECT_EQ(StateTaskOf("a", 4), 2);
  EXPECT_EQ(StateTaskOf("a", 7), 5);
  const std::string encoded("\x05\x03"
                            "abc",
                            5);  // a string key "abc"
  EXPECT_EQ(StateTaskOf(encoded, 4), 1);
  EXPECT_EQ(StateTaskOf(encoded, 7), 6);
}

}  // namespace
}  // namespace onceflow::operators
