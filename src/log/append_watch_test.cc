// AppendWatch: a change to a watched directory wakes a waiter, including one made before the
// wait began; without a change the wait times out.
#include "log/append_watch.h"

#include <gtest/gtest.h>

#include <thread>

#include "log/log_test_util.h"
#include "log/topic.h"
#include "util/file.h"

namespace onceflow::log {
namespace {

TEST(AppendWatchTest, NoChangeTimesOut) {
  testing::TempDir dir;
  AppendWatch watch({dir.path()});
  if (!watch.active()) GTEST_SKIP() << "inotify unavailable: Wait polls";
  EXPECT_FALSE(watch.Wait(std::chrono::milliseconds(0)));
}

TEST(AppendWatchTest, ChangeBeforeTheWaitIsKept) {
  testing::TempDir dir;
  AppendWatch watch({dir.path()});
  if (!watch.active()) GTEST_SKIP() << "inotify unavailable: Wait polls";
  ASSERT_TRUE(WriteFileAtomically(JoinPath(dir.path(), "f"), "x").ok());
  EXPECT_TRUE(watch.Wait(std::chrono::milliseconds(0)));
  // Consumed: the next wait sees nothing new.
  EXPECT_FALSE(watch.Wait(std::chrono::milliseconds(0)));
}

// An append by another opener of the partition (here: the writer, while the watch belongs to a
// read-only opener's side) wakes a waiter blocked before it; the guard is generous and the test
// asserts the wake-up and the record, not a latency.
TEST(AppendWatchTest, AppendWakesAWaiter) {
  testing::TempDir dir;
  TopicConfig config;
  config.partitions = 1;
  auto topic = Topic::Create(dir.path(), "t", config);
  ASSERT_TRUE(topic.has_value());
  PartitionLog* log = *(*topic)->partition(PartitionId(0));
  AppendWatch watch({log->dir()});
  if (!watch.active()) GTEST_SKIP() << "inotify unavailable: Wait polls";
  while (watch.Wait(std::chrono::milliseconds(0))) {
  }
  std::thread appender([&] {
    BatchBuilder b;
    b.Add(RecordView{std::nullopt, "v", 1, {}});
    ASSERT_TRUE(log->Append(b.Finish()).has_value());
  });
  EXPECT_TRUE(watch.Wait(std::chrono::minutes(2)));
  appender.join();
  auto reader = Topic::Open(dir.path(), "t", /*read_only=*/true);
  ASSERT_TRUE(reader.has_value());
  PartitionLog* r = *(*reader)->partition(PartitionId(0));
  ASSERT_TRUE(r->Refresh().ok());
  EXPECT_EQ(r->end_offset(), Offset(1));
}

}  // namespace
}  // namespace onceflow::log
