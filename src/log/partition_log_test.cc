#include "log/partition_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "log/log_format.h"
#include "log/log_test_util.h"
#include "log/segment_name.h"
#include "testing/hang_guard.h"
#include "util/coding.h"

namespace onceflow::log {
namespace {

using testing::AppendValues;
using testing::Encode;
using testing::ReadAll;
using testing::TempDir;

class PartitionLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<PartitionLog> OpenLog(LogOptions options = {}) {
    auto log = PartitionLog::Open(dir_.path() + "/p", options);
    EXPECT_TRUE(log.has_value()) << log.error().ToString();
    return log.has_value() ? std::move(*log) : nullptr;
  }
  static LogOptions Small() {
    LogOptions o;
    o.segment_bytes = 4096;
    o.index_interval_bytes = 256;
    return o;
  }
  TempDir dir_;
};

std::vector<std::string> Values(int n, const std::string& prefix = "value-") {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

TEST_F(PartitionLogTest, AppendThenReadBack) {
  auto log = OpenLog();
  EXPECT_EQ(log->end_offset(), Offset(0));
  Record a{std::string("k"), "a", 5, {{"h", "1"}}};
  Record b{std::nullopt, "b", 6, {}};
  auto first = log->Append(Encode({a, b}));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, Offset(0));
  auto second = log->Append(Encode({b}));
  EXPECT_EQ(*second, Offset(2));
  EXPECT_EQ(log->end_offset(), Offset(3));
  auto all = ReadAll(log.get());
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3U);
  EXPECT_EQ((*all)[0].second, a);
  EXPECT_EQ((*all)[1].second, b);
  EXPECT_EQ((*all)[2].first, Offset(2));
}

TEST_F(PartitionLogTest, BatchesThatWouldReadBackAsCorruptAreRefused) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Append(Encode({Record{std::nullopt, "a", 1, {}}})).has_value());
  // A batch of no records: every reader would stop at it as corruption.
  std::string empty = Encode({Record{std::nullopt, "b", 2, {}}});
  coding::EncodeFixed32(empty.data() + kRecordCountPos, 0);
  auto refused = log->Append(empty);
  ASSERT_FALSE(refused.has_value());
  EXPECT_TRUE(refused.error().IsInvalidArgument()) << refused.error().ToString();
  // Bytes that are not a batch, and a batch cut short.
  EXPECT_FALSE(log->Append(std::string(200, 'x')).has_value());
  std::string cut = Encode({Record{std::nullopt, "c", 3, {}}});
  cut.resize(cut.size() - 1);
  EXPECT_FALSE(log->Append(cut).has_value());
  // Nothing of them reached the log: it reads back, then and after a reopen, with one record.
  EXPECT_EQ(log->end_offset(), Offset(1));
  ASSERT_TRUE(log->Append(Encode({Record{std::nullopt, "d", 4, {}}})).has_value());
  log.reset();
  log = OpenLog();
  auto all = ReadAll(log.get());
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[1].second.value, "d");
}

TEST_F(PartitionLogTest, ReopenKeepsEverything) {
  {
    auto log = OpenLog(Small());
    ASSERT_EQ(AppendValues(log.get(), Values(500)), Offset(0));
    EXPECT_GT(log->segment_count(), 3U);
  }
  auto log = OpenLog(Small());
  EXPECT_EQ(log->end_offset(), Offset(500));
  EXPECT_TRUE(log->recovered_torn_tail().empty());
  auto all = ReadAll(log.get());
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  ASSERT_EQ(all->size(), 500U);
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ((*all)[i].first, Offset(i));
    EXPECT_EQ((*all)[i].second.value, "value-" + std::to_string(i));
  }
  // Appends continue after the recovered end.
  EXPECT_EQ(AppendValues(log.get(), {"more"}), Offset(500));
}

TEST_F(PartitionLogTest, ReadFromEveryOffset) {
  auto log = OpenLog(Small());
  // Batches of varying sizes so that offsets fall inside batches and across segments.
  int64_t next = 0;
  for (int b = 0; b < 60; ++b) {
    std::vector<Record> batch;
    for (int i = 0; i < b % 7 + 1; ++i) {
      batch.push_back({std::nullopt, "v" + std::to_string(next++), 1, {}});
    }
    ASSERT_TRUE(log->Append(Encode(batch)).has_value());
  }
  for (int64_t from = 0; from <= next; ++from) {
    auto rest = ReadAll(log.get(), Offset(from));
    ASSERT_TRUE(rest.has_value()) << from;
    ASSERT_EQ(static_cast<int64_t>(rest->size()), next - from) << from;
    if (!rest->empty()) {
      EXPECT_EQ(rest->front().first, Offset(from));
      EXPECT_EQ(rest->front().second.value, "v" + std::to_string(from));
    }
  }
}

TEST_F(PartitionLogTest, ConcurrentProducersLoseNothing) {
  LogOptions o;
  o.segment_bytes = 64 * 1024;  // rolls and preallocation under concurrency
  auto log = OpenLog(o);
  constexpr int kThreads = 8, kPerThread = 300;
  std::vector<std::thread> threads;
  std::vector<std::vector<Offset>> acked(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Record r{std::nullopt, std::to_string(t) + ":" + std::to_string(i), 1, {}};
        auto off = log->Append(Encode({r, r}));  // two records per batch
        ASSERT_TRUE(off.has_value());
        acked[t].push_back(*off);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(log->end_offset(), Offset(2 * kThreads * kPerThread));
  auto all = ReadAll(log.get());
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), static_cast<size_t>(2 * kThreads * kPerThread));
  std::set<std::string> seen;
  for (size_t i = 0; i < all->size(); i += 2) {
    EXPECT_EQ((*all)[i].second.value, (*all)[i + 1].second.value);  // a batch is never split
    EXPECT_TRUE(seen.insert((*all)[i].second.value).second) << "duplicate";
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const Offset o = acked[t][i];
      EXPECT_EQ((*all)[o.value()].second.value, std::to_string(t) + ":" + std::to_string(i));
      if (i > 0) {
        EXPECT_GT(o, acked[t][i - 1]);  // one producer's appends keep their order
      }
    }
  }
}

TEST_F(PartitionLogTest, SecondWriterIsRefused) {
  auto log = OpenLog();
  auto second = PartitionLog::Open(dir_.path() + "/p", LogOptions{});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kBusy);
}

TEST_F(PartitionLogTest, ReadOnlyReaderFollowsAWriter) {
  auto writer = OpenLog(Small());
  ASSERT_EQ(AppendValues(writer.get(), Values(10)), Offset(0));
  LogOptions ro = Small();
  ro.read_only = true;
  auto reader = PartitionLog::Open(dir_.path() + "/p", ro);
  ASSERT_TRUE(reader.has_value());
  EXPECT_EQ((*reader)->end_offset(), Offset(10));
  // Enough to roll several segments while the reader is open.
  ASSERT_EQ(AppendValues(writer.get(), Values(200, "later-")), Offset(10));
  EXPECT_EQ((*reader)->WaitForMore(Offset(10), ::onceflow::testing::kHangGuard), Offset(210));
  auto all = ReadAll(reader->get());
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  ASSERT_EQ(all->size(), 210U);
  EXPECT_EQ(all->back().second.value, "later-199");
  EXPECT_FALSE((*reader)->Append(Encode({{std::nullopt, "x", 1, {}}})).has_value());
}

TEST_F(PartitionLogTest, WaitForMoreWakesOnAppend) {
  auto log = OpenLog();
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    AppendValues(log.get(), {"x"});
  });
  EXPECT_EQ(log->WaitForMore(Offset(0), ::onceflow::testing::kHangGuard), Offset(1));
  producer.join();
  EXPECT_EQ(log->WaitForMore(Offset(1), std::chrono::milliseconds(10)), Offset(1));
}

TEST_F(PartitionLogTest, RetentionBySizeDeletesOldestSegments) {
  LogOptions o = Small();
  o.retention_bytes = 3 * 4096;
  auto log = OpenLog(o);
  ASSERT_EQ(AppendValues(log.get(), Values(2000)), Offset(0));
  // Retention runs at each roll; what is left is within the limit plus the active segment.
  EXPECT_LE(log->size_bytes(), static_cast<uint64_t>(o.retention_bytes + 2 * 4096));
  const Offset earliest = log->earliest_offset();
  EXPECT_GT(earliest, Offset(0));
  auto early = log->Read(Offset(0), 100);
  ASSERT_FALSE(early.has_value());
  EXPECT_TRUE(early.error().IsOutOfRange());
  auto rest = ReadAll(log.get(), earliest);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->back().first, Offset(1999));
  EXPECT_EQ(static_cast<int64_t>(rest->size()), 2000 - earliest.value());
  // And after reopening, the log starts at the same earliest offset.
  log.reset();
  log = OpenLog(o);
  EXPECT_EQ(log->earliest_offset(), earliest);
  EXPECT_EQ(log->end_offset(), Offset(2000));
}

TEST_F(PartitionLogTest, RetentionByAgeKeepsNewRecordsAndTheActiveSegment) {
  LogOptions o = Small();
  o.retention_ms = 60'000;
  auto log = OpenLog(o);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ASSERT_EQ(AppendValues(log.get(), Values(300), /*ts=*/now - 600'000), Offset(0));
  ASSERT_EQ(AppendValues(log.get(), Values(300, "new-"), /*ts=*/now), Offset(300));
  ASSERT_TRUE(log->EnforceRetention(now).has_value());
  // Every segment holding only old records went (at roll or now); no new record did.
  EXPECT_GT(log->earliest_offset(), Offset(0));
  EXPECT_LE(log->earliest_offset(), Offset(300));
  auto rest = ReadAll(log.get(), log->earliest_offset());
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->back().second.value, "new-299");
  EXPECT_EQ(rest->back().first, Offset(599));
  // A day later everything but the active segment goes.
  auto deleted = log->EnforceRetention(now + 86'400'000);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_GT(*deleted, 0);
  EXPECT_EQ(log->segment_count(), 1U);
  EXPECT_EQ(log->end_offset(), Offset(600));
}

TEST_F(PartitionLogTest, OversizedBatchIsRefused) {
  auto log = OpenLog();
  EXPECT_FALSE(log->Append(std::string(10, 'x')).has_value());
}

}  // namespace
}  // namespace onceflow::log
