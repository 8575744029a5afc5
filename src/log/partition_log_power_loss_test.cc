// The partition log under a simulated power loss (util/power_loss.h) and injected I/O errors:
// what an append acknowledged survives the loss of every unsynced change; a failed fdatasync
// poisons the log (never retried as if it had worked); a full disk is refused and then outlived.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "log/log_test_util.h"
#include "log/partition_log.h"
#include "util/fault_points.h"
#include "util/power_loss.h"

namespace onceflow::log {
namespace {

using testing::ReadAll;
using testing::TempDir;

class PartitionLogPowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    power_loss::Enable();
    ASSERT_TRUE(power_loss::Forget().ok());  // nothing pending from an earlier test
  }
  void TearDown() override { faults::DisarmAll(); }

  // `rolls`: small preallocated segments (creations, renames of the preallocated file, seals);
  // else one segment, so that every file_write and file_sync is a group's.
  std::unique_ptr<PartitionLog> OpenLog(bool rolls = false) {
    LogOptions o;
    o.segment_bytes = rolls ? 8192 : 64u << 20;
    o.index_interval_bytes = 512;
    o.preallocate = rolls;
    auto log = PartitionLog::Open(dir_.Join("p"), o);
    EXPECT_TRUE(log.has_value()) << log.error().ToString();
    return log.has_value() ? std::move(*log) : nullptr;
  }

  static Result<Offset> AppendOne(PartitionLog* log, const std::string& value) {
    Record r;
    r.value = value;
    r.timestamp_ms = 1000;
    return log->Append(testing::Encode({r}));
  }

  // The values of the log at `dir_/p`, reopened (recovered), in offset order from 0.
  std::vector<std::string> Reopened(bool rolls = false) {
    std::vector<std::string> values;
    auto log = OpenLog(rolls);
    if (log == nullptr) return values;
    auto all = ReadAll(log.get());
    EXPECT_TRUE(all.has_value()) << all.error().ToString();
    if (!all.has_value()) return values;
    for (const auto& [offset, record] : *all) {
      EXPECT_EQ(offset.value(), static_cast<int64_t>(values.size()));
      values.push_back(record.value);
    }
    return values;
  }

  TempDir dir_{"log-power-loss"};
};

TEST_F(PartitionLogPowerLossTest, EveryAcknowledgedAppendSurvivesAPowerLoss) {
  std::vector<std::string> acked;
  {
    auto log = OpenLog(/*rolls=*/true);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 200; ++i) {  // several segments
      const std::string v = "acked-" + std::to_string(i) + std::string(100, 'x');
      ASSERT_TRUE(AppendOne(log.get(), v).has_value());
      acked.push_back(v);
    }
    ASSERT_GT(log->segment_count(), 2u);
  }
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Reopened(/*rolls=*/true), acked);
}

// fsyncgate: after a failed fdatasync the kernel may have dropped the dirty pages and marked
// them clean, so a later fdatasync that succeeds proves nothing about them. The group's
// appenders get the error, the log takes no append until reopened, and a reopen after a power
// loss holds exactly what was acknowledged.
TEST_F(PartitionLogPowerLossTest, AFailedFdatasyncPoisonsTheLogUntilReopened) {
  std::vector<std::string> acked;
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 5; ++i) {
      acked.push_back("acked-" + std::to_string(i));
      ASSERT_TRUE(AppendOne(log.get(), acked.back()).has_value());
    }
    ASSERT_TRUE(faults::Arm("file_sync=eio#1").ok());
    auto failed = AppendOne(log.get(), "not acknowledged");
    ASSERT_FALSE(failed.has_value());
    EXPECT_TRUE(failed.error().IsIoError());
    EXPECT_NE(failed.error().message().find(dir_.Join("p")), std::string::npos)
        << failed.error().ToString();
    EXPECT_FALSE(failed.error().retryable());
    // The fault fired once; the log stays poisoned all the same.
    for (int i = 0; i < 3; ++i) {
      auto later = AppendOne(log.get(), "after the failure");
      ASSERT_FALSE(later.has_value());
      EXPECT_NE(later.error().message().find("poisoned"), std::string::npos)
          << later.error().ToString();
    }
    EXPECT_EQ(log->end_offset(), Offset(5));
  }
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Reopened(), acked);
  // The reopened log takes appends again, after the acknowledged ones.
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  auto next = AppendOne(log.get(), "after the reopen");
  ASSERT_TRUE(next.has_value()) << next.error().ToString();
  EXPECT_EQ(*next, Offset(5));
}

// Appenders racing a failing fdatasync: whoever was told "ok" is in the log after the power
// loss; whoever was told an error may or may not be (never twice); nothing is acknowledged
// after the first failure.
TEST_F(PartitionLogPowerLossTest, ConcurrentAppendersNeverGetAnAckForAFailedGroup) {
  constexpr int kThreads = 4, kEach = 60;
  std::vector<std::vector<std::string>> acked(kThreads);
  std::atomic<bool> failed{false};
  std::atomic<int> acked_after_failure{0};
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(faults::Arm("file_sync=eio#40").ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const std::string v = "t" + std::to_string(t) + "-" + std::to_string(i);
          const bool failed_before = failed.load();
          if (AppendOne(log.get(), v).has_value()) {
            acked[t].push_back(v);
            if (failed_before) ++acked_after_failure;
          } else {
            failed.store(true);
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
  ASSERT_TRUE(failed.load()) << "the 40th fdatasync never came";
  EXPECT_EQ(acked_after_failure.load(), 0);
  ASSERT_TRUE(power_loss::Forget().ok());
  const std::vector<std::string> values = Reopened();
  std::set<std::string> present(values.begin(), values.end());
  EXPECT_EQ(present.size(), values.size()) << "a record appears twice";
  size_t n = 0;
  for (const auto& per_thread : acked) {
    for (const std::string& v : per_thread) EXPECT_TRUE(present.contains(v)) << v << " is lost";
    n += per_thread.size();
  }
  // The failed group was never synced: the power loss took it, so the log is exactly the
  // acknowledged appends.
  EXPECT_EQ(values.size(), n);
}

TEST_F(PartitionLogPowerLossTest, AFullDiskRefusesTheAppendAndTheLogGoesOnOnceSpaceIsFreed) {
  std::vector<std::string> acked;
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 3; ++i) {
      acked.push_back("before-" + std::to_string(i));
      ASSERT_TRUE(AppendOne(log.get(), acked.back()).has_value());
    }
    // The next three writes find no space; then space is freed.
    ASSERT_TRUE(faults::Arm("file_write=enospc#1-3").ok());
    for (int i = 0; i < 3; ++i) {
      auto refused = AppendOne(log.get(), "refused-" + std::to_string(i));
      ASSERT_FALSE(refused.has_value());
      EXPECT_TRUE(IsDiskFull(refused.error())) << refused.error().ToString();
      EXPECT_TRUE(refused.error().retryable());
      EXPECT_NE(refused.error().message().find("disk full: " + dir_.Join("p")), std::string::npos)
          << refused.error().ToString();
      EXPECT_EQ(log->end_offset(), Offset(3));
    }
    for (int i = 0; i < 3; ++i) {
      acked.push_back("after-" + std::to_string(i));
      auto at = AppendOne(log.get(), acked.back());
      ASSERT_TRUE(at.has_value()) << at.error().ToString();
      EXPECT_EQ(*at, Offset(3 + i));
    }
  }
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Reopened(), acked);
}

}  // namespace
}  // namespace onceflow::log
