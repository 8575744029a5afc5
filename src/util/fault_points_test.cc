#include "util/fault_points.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

namespace onceflow::faults {
namespace {

class FaultPointsTest : public ::testing::Test {
 protected:
  void TearDown() override { DisarmAll(); }
};

TEST_F(FaultPointsTest, UnarmedPointsPass) { EXPECT_TRUE(Hit("after_intent").ok()); }

TEST_F(FaultPointsTest, ThrowFailsTheStepWithARetryableError) {
  ASSERT_TRUE(Arm("mid_sink_write=throw").ok());
  Status s = Hit("mid_sink_write");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.retryable());
  EXPECT_NE(s.message().find("mid_sink_write"), std::string::npos);
  EXPECT_TRUE(Hit("after_intent").ok());
}

TEST_F(FaultPointsTest, NthHitOnly) {
  ASSERT_TRUE(Arm("task=throw#3").ok());
  EXPECT_TRUE(Hit("task").ok());
  EXPECT_TRUE(Hit("task").ok());
  EXPECT_FALSE(Hit("task").ok());
  EXPECT_TRUE(Hit("task").ok());
}

TEST_F(FaultPointsTest, HitsNToMOnly) {
  ASSERT_TRUE(Arm("file_write=enospc#2-4").ok());
  EXPECT_EQ(HitIo("file_write"), 0);
  EXPECT_EQ(HitIo("file_write"), ENOSPC);
  EXPECT_EQ(HitIo("file_write"), ENOSPC);
  EXPECT_EQ(HitIo("file_write"), ENOSPC);
  EXPECT_EQ(HitIo("file_write"), 0);
  EXPECT_EQ(HitIo("file_write"), 0);
}

TEST_F(FaultPointsTest, ProbabilityIsRoughlyHonoured) {
  ASSERT_TRUE(Arm("task=throw@0.25").ok());
  int failed = 0;
  for (int i = 0; i < 4000; ++i) failed += Hit("task").ok() ? 0 : 1;
  EXPECT_GT(failed, 700);
  EXPECT_LT(failed, 1300);
}

TEST_F(FaultPointsTest, SlowSleeps) {
  ASSERT_TRUE(Arm("task=slow:30ms").ok());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(Hit("task").ok());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(30));
}

TEST_F(FaultPointsTest, PauseHoldsTheThreadUntilReleased) {
  ASSERT_TRUE(Arm("before_sink_commit=pause#1").ok());
  std::atomic<bool> passed{false};
  std::thread committer([&] {
    EXPECT_TRUE(Hit("before_sink_commit").ok());
    passed = true;
  });
  WaitPaused("before_sink_commit");
  // Paused: it cannot pass until released, however long this thread takes.
  EXPECT_FALSE(passed.load());
  Release("before_sink_commit");
  committer.join();
  EXPECT_TRUE(passed.load());
  EXPECT_TRUE(Hit("before_sink_commit").ok());  // #1 only: the second hit does not pause
}

TEST_F(FaultPointsTest, DisarmReleasesAPausedThread) {
  ASSERT_TRUE(Arm("task=pause").ok());
  std::thread task([] { EXPECT_TRUE(Hit("task").ok()); });
  WaitPaused("task");
  DisarmAll();
  task.join();
}

TEST_F(FaultPointsTest, PauseCannotBeArmedFromTheEnvironment) {
  ::setenv("ONCEFLOW_FAULTS", "task=pause", 1);
  Status s = ArmFromEnvironment();
  ::unsetenv("ONCEFLOW_FAULTS");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("pause"), std::string::npos) << s.message();
}

TEST_F(FaultPointsTest, StopStopsTheProcessUntilContinued) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!Arm("after_intent=stop").ok()) ::_exit(1);
    Status s = Hit("after_intent");
    ::_exit(s.ok() ? 7 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, WUNTRACED), child);
  ASSERT_TRUE(WIFSTOPPED(status));  // stopped at the point, not gone past it
  ::kill(child, SIGCONT);
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST_F(FaultPointsTest, CrashExitsImmediatelyWithItsCode) {
  pid_t pid = ::fork();
  if (pid == 0) {
    (void)Arm("after_sink_commit=crash");
    (void)Hit("after_sink_commit");
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kCrashExitCode);
}

TEST_F(FaultPointsTest, BadSpecsNameTheProblem) {
  auto msg = [](std::string_view spec) { return Arm(spec).message(); };
  EXPECT_NE(msg("after_intnet=crash").find("unknown fault point 'after_intnet'"),
            std::string::npos);
  EXPECT_NE(msg("task=explode").find("unknown action"), std::string::npos);
  EXPECT_NE(msg("task=throw@2").find("probability"), std::string::npos);
  EXPECT_NE(msg("task=slow:5").find("unit"), std::string::npos);
  EXPECT_NE(msg("task").find("point=action"), std::string::npos);
  EXPECT_NE(msg("task=throw#3-2").find("bad #N or #N-M"), std::string::npos);
  EXPECT_NE(msg("task=throw#3-").find("bad #N or #N-M"), std::string::npos);
  EXPECT_NE(msg("task=throw#0").find("bad #N or #N-M"), std::string::npos);
}

}  // namespace
}  // namespace onceflow::faults
