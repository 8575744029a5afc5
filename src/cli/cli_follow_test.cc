// End-to-end tests of `onceflow consume --follow`: a consumer started first sees what another
// process produces afterwards, and SIGINT/SIGTERM end it cleanly.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "testing/cli_test_base.h"

namespace onceflow::testing {
namespace {

class CliFollowTest : public CliTestBase {
 protected:
  // Starts `onceflow consume --follow ...` in the background.
  std::unique_ptr<Process> StartFollower(std::vector<std::string> args) {
    const std::string in = TempPath("stdin");
    WriteWholeFile(in, "");
    args.insert(args.begin(), {"consume", "--follow"});
    args.insert(args.end(), {"--data", data_});
    follower_out_ = TempPath("stdout");
    return std::make_unique<Process>(args, in, follower_out_, TempPath("stderr"));
  }

  // Waits until the follower printed `lines` lines; false after the timeout.
  bool WaitForLines(size_t lines, std::chrono::milliseconds timeout = kHangGuard) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (SplitLines(ReadWholeFile(follower_out_)).size() >= lines) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string Lines(int from, int to) {
    std::string s;
    for (int i = from; i < to; ++i) s += "line-" + std::to_string(i) + "\n";
    return s;
  }

  std::string follower_out_;
};

TEST_F(CliFollowTest, PicksUpRecordsProducedByAnotherProcessLater) {
  ASSERT_EQ(RunData({"topics", "create", "live", "--partitions", "1"}).exit_code, 0);
  ASSERT_EQ(RunData({"produce", "live"}, Lines(0, 10)).exit_code, 0);

  auto follower = StartFollower({"live", "--max", "110", "--print-offsets"});
  ASSERT_TRUE(WaitForLines(10)) << "the records produced before it started";
  // The follower is now waiting at the end of the log, holding it open read-only while this
  // producer appends (which needs the partition's write lock).
  RunResult p = RunData({"produce", "live"}, Lines(10, 110));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(follower->Wait(), 0) << follower->err();

  std::vector<std::string> lines = SplitLines(follower->out());
  ASSERT_EQ(lines.size(), 110u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i], "0:" + std::to_string(i) + " line-" + std::to_string(i));
  }
}

TEST_F(CliFollowTest, FollowsEveryPartitionOfATopic) {
  ASSERT_EQ(RunData({"topics", "create", "multi", "--partitions", "3"}).exit_code, 0);
  auto follower = StartFollower({"multi", "--max", "300"});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Keyed so that every partition gets some of the records.
  std::string input;
  for (int i = 0; i < 300; ++i) input += "k" + std::to_string(i) + " v" + std::to_string(i) + "\n";
  RunResult p = RunData({"produce", "multi", "--key-separator", " "}, input);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(follower->Wait(), 0) << follower->err();
  std::vector<std::string> lines = SplitLines(follower->out());
  std::sort(lines.begin(), lines.end());
  std::vector<std::string> expected;
  for (int i = 0; i < 300; ++i) expected.push_back("v" + std::to_string(i));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(lines, expected);
}

class CliFollowSignalTest : public CliFollowTest, public ::testing::WithParamInterface<int> {};

TEST_P(CliFollowSignalTest, SignalEndsFollowCleanly) {
  ASSERT_EQ(RunData({"topics", "create", "live", "--partitions", "2"}).exit_code, 0);
  auto follower = StartFollower({"live"});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(RunData({"produce", "live"}, Lines(0, 20)).exit_code, 0);
  ASSERT_TRUE(WaitForLines(20)) << "follower output: " << ReadWholeFile(follower_out_);
  follower->Signal(GetParam());
  EXPECT_EQ(follower->Wait(), 0) << follower->err();
  EXPECT_EQ(follower->err(), "");
  std::vector<std::string> lines = SplitLines(follower->out());
  std::sort(lines.begin(), lines.end());
  std::vector<std::string> expected = SplitLines(Lines(0, 20));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(lines, expected);
}

INSTANTIATE_TEST_SUITE_P(Signals, CliFollowSignalTest, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) {
                           return info.param == SIGINT ? "Sigint" : "Sigterm";
                         });

}  // namespace
}  // namespace onceflow::testing
