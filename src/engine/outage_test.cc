// Outage: the lines it says (first failure once, the recovery), its retry count, and a Stop
// that ends a wait.
#include "engine/outage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

namespace onceflow::engine {
namespace {

TEST(OutageTest, SaysTheFirstFailureOnceAndTheRecovery) {
  std::vector<std::string> lines;
  Outage outage(PlanningOutageMessages(), [&](const std::string& l) { lines.push_back(l); });
  const Status down = Status::IoError("broker down").WithRetryable(true);
  EXPECT_TRUE(outage.Wait(down, nullptr));
  EXPECT_TRUE(outage.Wait(down, nullptr));  // within 30 s of the first: nothing said
  EXPECT_EQ(outage.retries(), 2);
  outage.Reset();
  outage.Reset();  // no outage: nothing said
  EXPECT_EQ(outage.retries(), 0);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "planning failed, retrying until it works: " + down.ToString());
  EXPECT_TRUE(lines[1].starts_with("planning works again after ")) << lines[1];
  EXPECT_TRUE(lines[1].ends_with(" ms")) << lines[1];
}

TEST(OutageTest, DiskFullSaysThePathAndNoRecovery) {
  std::vector<std::string> lines;
  Outage outage(DiskFullOutageMessages(), [&](const std::string& l) { lines.push_back(l); });
  const Status full =
      Status::IoError("batch 7: sink commit: disk full: /data/x.db").WithRetryable(true);
  EXPECT_TRUE(outage.Wait(full, nullptr));
  outage.Reset();
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "disk full: /data/x.db; retrying until writes succeed again (nothing "
                       "committed is lost)"}));
}

TEST(OutageTest, AStopEndsTheWait) {
  std::vector<std::string> lines;
  Outage outage(PlanningOutageMessages(), [&](const std::string& l) { lines.push_back(l); });
  std::atomic<bool> stop{true};
  EXPECT_FALSE(outage.Wait(Status::IoError("x"), &stop));
  EXPECT_EQ(lines.size(), 1u);  // still said: the failure happened
}

}  // namespace
}  // namespace onceflow::engine
