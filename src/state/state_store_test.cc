#include "state/state_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "log/log_test_util.h"
#include "state/state_format.h"
#include "state/task_state.h"
#include "util/fault_points.h"

namespace onceflow::state {
namespace {

using log::testing::TempDir;

TEST(StateFormatTest, TimerKeysSortByTimeIncludingNegativeTimes) {
  std::string a = TimerKey(1, 2, -5, "k");
  std::string b = TimerKey(1, 2, 3, "a");
  std::string c = TimerKey(1, 2, 1LL << 40, "a");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  auto parts = ParseTimerKey(a);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->time, -5);
  EXPECT_EQ(parts->user_key, "k");
  EXPECT_LT(DataKey(0, 1, "zzz"), DataKey(0, 2, ""));  // a task's keys are contiguous
}

TEST(StateStoreTest, NewStoreIsAtNoBatch) {
  TempDir dir;
  auto store = StateStore::Open(dir.path() + "/state", 4);
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  EXPECT_EQ((*store)->batch(), BatchId(-1));
  EXPECT_FALSE((*store)->max_event_time().has_value());
  EXPECT_FALSE((*store)->Get(DataKey(0, 0, "x")).value().has_value());
}

// Reads or writes the meta key `name` of a closed store with RocksDB itself.
std::string MetaOnDisk(const std::string& path, const std::string& name,
                       const std::optional<std::string>& put = std::nullopt) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Options options;
  EXPECT_TRUE(rocksdb::DB::Open(options, path, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  if (put) EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), MetaKey(name), *put).ok());
  std::string value;
  EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), MetaKey(name), &value).ok());
  return value;
}

TEST(StateStoreTest, AVersion1StoreIsReadAndBecomesVersion2WithItsFirstEventTimes) {
  TempDir dir;
  const std::string path = dir.path() + "/state";
  auto commit = [&](BatchId batch, std::optional<std::string> event_times) {
    auto store = StateStore::Open(path, 2);
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    if (!store.has_value()) return;
    TaskState t((*store).get(), 0, 0);
    t.Put("k" + batch.ToString(), "v");
    StateDelta d[] = {t.TakeDelta()};
    auto prepared = (*store)->Prepare(batch, d, 500 + batch.value(), event_times);
    EXPECT_TRUE((*store)->Commit(std::move(prepared), d).ok());
  };
  commit(BatchId(0), std::nullopt);
  EXPECT_EQ(MetaOnDisk(path, "format"), "2");                    // a new store
  EXPECT_EQ(MetaOnDisk(path, "format", std::string("1")), "1");  // as an older onceflow wrote it
  commit(BatchId(1), std::nullopt);
  EXPECT_EQ(MetaOnDisk(path, "format"), "1");
  {
    auto store = StateStore::Open(path, 2).value();
    EXPECT_FALSE(store->event_times().has_value());
    EXPECT_EQ(store->max_event_time(), 501);
  }
  commit(BatchId(2), std::string("times"));
  EXPECT_EQ(MetaOnDisk(path, "format"), "2");
  {
    auto store = StateStore::Open(path, 2).value();
    EXPECT_EQ(store->event_times(), std::optional<std::string>("times"));
    EXPECT_EQ(store->batch(), BatchId(2));
  }
  MetaOnDisk(path, "format", std::string("3"));
  auto newer = StateStore::Open(path, 2);
  ASSERT_FALSE(newer.has_value());
  EXPECT_NE(newer.error().message().find("format version 3 is not supported"), std::string::npos)
      << newer.error().ToString();
}

TEST(StateStoreTest, CommitIsDurableWithItsMarkerAndMaxEventTime) {
  TempDir dir;
  const std::string path = dir.path() + "/state";
  {
    auto store = StateStore::Open(path, 2).value();
    TaskState t0(store.get(), 0, 0), t1(store.get(), 0, 1);
    t0.Put("alice", "1");
    t1.Put("bob", "2");
    StateDelta d[] = {t0.TakeDelta(), t1.TakeDelta()};
    ASSERT_TRUE(store->Commit(BatchId(0), d, 1000).ok());
    TaskState again(store.get(), 0, 0);
    again.Put("alice", "3");
    again.Remove("gone");
    StateDelta d2[] = {again.TakeDelta()};
    ASSERT_TRUE(store->Commit(BatchId(1), d2, 900).ok());
  }
  auto store = StateStore::Open(path, 2).value();
  EXPECT_EQ(store->batch(), BatchId(1));
  EXPECT_EQ(store->max_event_time(), 900);
  EXPECT_EQ(store->Get(DataKey(0, 0, "alice")).value(), "3");
  EXPECT_EQ(store->Get(DataKey(0, 1, "bob")).value(), "2");
  EXPECT_FALSE(store->Get(DataKey(0, 1, "alice")).value().has_value());  // tasks are apart
}

TEST(StateStoreTest, ReadsSeeThePreviousBatchUntilCommit) {
  TempDir dir;
  auto store = StateStore::Open(dir.path() + "/state", 1).value();
  TaskState t(store.get(), 0, 0);
  t.Put("k", "1");
  StateDelta d[] = {t.TakeDelta()};
  ASSERT_TRUE(store->Commit(BatchId(0), d, std::nullopt).ok());
  TaskState batch1(store.get(), 0, 0);
  batch1.Put("k", "2");
  EXPECT_EQ(batch1.Get("k").value(), "2");  // its own write
  TaskState other_attempt(store.get(), 0, 0);
  EXPECT_EQ(other_attempt.Get("k").value(), "1");  // the committed state, untouched
  EXPECT_EQ(store->Get(DataKey(0, 0, "k")).value(), "1");
}

TEST(StateStoreTest, RefusesAnotherTaskCountAndOldBatches) {
  TempDir dir;
  const std::string path = dir.path() + "/state";
  {
    auto store = StateStore::Open(path, 4).value();
    ASSERT_TRUE(store->Commit(BatchId(3), {}, std::nullopt).ok());
    EXPECT_TRUE(store->Commit(BatchId(3), {}, std::nullopt).IsInvalidArgument());
  }
  auto refused = StateStore::Open(path, 8);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("created with 4 state tasks"), std::string::npos)
      << refused.error().ToString();
}

TEST(StateStoreTest, DueTimersMergeCommittedAndBufferedTimers) {
  TempDir dir;
  auto store = StateStore::Open(dir.path() + "/state", 2).value();
  TaskState t(store.get(), 0, 1);
  t.SetTimer(10, "a");
  t.SetTimer(20, "b");
  t.SetTimer(30, "c");
  StateDelta d[] = {t.TakeDelta()};
  ASSERT_TRUE(store->Commit(BatchId(0), d, std::nullopt).ok());
  TaskState next(store.get(), 0, 1);
  next.ClearTimer(10, "a");
  next.SetTimer(15, "d");
  next.SetTimer(-1, "e");
  auto due = next.DueTimers(20).value();
  std::vector<std::pair<int64_t, std::string>> expected = {{-1, "e"}, {15, "d"}, {20, "b"}};
  EXPECT_EQ(due, expected);
  TaskState other_task(store.get(), 0, 0);
  EXPECT_TRUE(other_task.DueTimers(INT64_MAX).value().empty());
  EXPECT_EQ(next.DueTimers(INT64_MAX).value().size(), 4u);
}

TEST(StateStoreTest, CacheServesCommittedValuesAndNeverAFailedCommitsDeltas) {
  TempDir dir;
  auto store = StateStore::Open(dir.path() + "/state", 1).value();
  TaskState t(store.get(), 0, 0);
  EXPECT_FALSE(t.Get("k").value().has_value());  // absent: not cached; its commit caches it
  t.Put("k", "1");
  t.Put("gone", "x");
  StateDelta d[] = {t.TakeDelta()};
  ASSERT_TRUE(store->Commit(BatchId(0), d, std::nullopt).ok());
  EXPECT_EQ(store->Get(DataKey(0, 0, "k")).value(), "1");  // written through
  // A commit that fails leaves the store, and every read, at the previous batch.
  ASSERT_TRUE(faults::Arm("mid_state_commit=throw#1").ok());
  TaskState failed(store.get(), 0, 0);
  failed.Put("k", "2");
  failed.Remove("gone");
  StateDelta d1[] = {failed.TakeDelta()};
  EXPECT_FALSE(store->Commit(BatchId(1), d1, std::nullopt).ok());
  faults::DisarmAll();
  EXPECT_EQ(store->batch(), BatchId(0));
  EXPECT_EQ(store->Get(DataKey(0, 0, "k")).value(), "1");
  EXPECT_EQ(store->Get(DataKey(0, 0, "gone")).value(), "x");
  // The retry commits; reads then see it, from the cache and after a reopen alike.
  ASSERT_TRUE(store->Commit(BatchId(1), d1, std::nullopt).ok());
  EXPECT_EQ(store->Get(DataKey(0, 0, "k")).value(), "2");
  EXPECT_FALSE(store->Get(DataKey(0, 0, "gone")).value().has_value());
  const std::string path = store->dir();
  store.reset();
  auto reopened = StateStore::Open(path, 1).value();
  EXPECT_EQ(reopened->Get(DataKey(0, 0, "k")).value(), "2");
  EXPECT_FALSE(reopened->Get(DataKey(0, 0, "gone")).value().has_value());
}

// A large commit fills the cache while RocksDB writes; when the write fails, no read may see
// the values it was filling in, and the deltas stay whole for a retry.
TEST(StateStoreTest, LargeFailedCommitLeavesNoValueInTheCacheAndItsDeltasWhole) {
  TempDir dir;
  auto store = StateStore::Open(dir.path() + "/state", 2).value();
  constexpr int kKeys = 30000;  // above the size from which the fill runs beside the write
  auto deltas_of = [&](const std::string& value) {
    TaskState t0(store.get(), 0, 0), t1(store.get(), 0, 1);
    for (int k = 0; k < kKeys; ++k) (k % 2 == 0 ? t0 : t1).Put("key" + std::to_string(k), value);
    return std::vector<StateDelta>{t0.TakeDelta(), t1.TakeDelta()};
  };
  // Two threads, as the engine's executor spreads the fill.
  ForEachFn threads = [](size_t n, const std::function<void(size_t)>& fn) {
    std::vector<std::thread> ts;
    for (size_t i = 0; i < n; ++i) ts.emplace_back(fn, i);
    for (auto& t : ts) t.join();
  };
  std::vector<StateDelta> first = deltas_of("a");
  ASSERT_TRUE(store->Commit(BatchId(0), first, std::nullopt, threads).ok());
  EXPECT_TRUE(first[0].writes.empty() && first[1].writes.empty());
  std::vector<StateDelta> second = deltas_of("b");
  ASSERT_TRUE(faults::Arm("mid_state_commit=throw#1").ok());
  EXPECT_FALSE(store->Commit(BatchId(1), second, std::nullopt, threads).ok());
  faults::DisarmAll();
  EXPECT_EQ(second[0].writes.size() + second[1].writes.size(), size_t{kKeys});
  int stale = 0;
  for (int k = 0; k < kKeys; ++k) {
    auto v = store->Get(DataKey(0, k % 2, "key" + std::to_string(k))).value();
    if (v != "a") ++stale;
  }
  EXPECT_EQ(stale, 0) << "reads saw values of the failed commit";
  ASSERT_TRUE(store->Commit(BatchId(1), second, std::nullopt, threads).ok());
  int wrong = 0;
  for (int k = 0; k < kKeys; ++k) {
    auto v = store->Get(DataKey(0, k % 2, "key" + std::to_string(k))).value();
    if (v != "b") ++wrong;
  }
  EXPECT_EQ(wrong, 0);
  const std::string path = store->dir();
  store.reset();
  auto reopened = StateStore::Open(path, 2, /*cache_bytes=*/0).value();
  EXPECT_EQ(reopened->Get(DataKey(0, 1, "key" + std::to_string(kKeys - 1))).value(), "b");
}

// A TaskState's buffered writes against a model: every read sees the batch's last write over
// the committed value, and the delta holds exactly one write per key, in key order.
TEST(TaskStateTest, MatchesAModelOfReadYourWritesOverTheCommittedState) {
  TempDir dir;
  auto store = StateStore::Open(dir.path() + "/state", 1).value();
  std::map<std::string, std::string> committed;
  {
    TaskState t(store.get(), 0, 0);
    for (int k = 0; k < 300; k += 3) {
      committed["k" + std::to_string(k)] = "c" + std::to_string(k);
      t.Put("k" + std::to_string(k), "c" + std::to_string(k));
    }
    StateDelta d[] = {t.TakeDelta()};
    ASSERT_TRUE(store->Commit(BatchId(0), d, std::nullopt).ok());
  }
  std::mt19937 rng(7);
  TaskState t(store.get(), 0, 0);
  std::map<std::string, std::optional<std::string>> written;  // the model of this batch
  for (int op = 0; op < 20000; ++op) {
    const std::string key = "k" + std::to_string(rng() % 400);
    switch (rng() % 4) {
      case 0:
        t.Remove(key);
        written[key] = std::nullopt;
        break;
      case 1: {
        const std::string v = "v" + std::to_string(op);
        t.Put(key, v);
        written[key] = v;
        break;
      }
      default: {
        std::optional<std::string> want;
        if (auto w = written.find(key); w != written.end()) {
          want = w->second;
        } else if (auto c = committed.find(key); c != committed.end()) {
          want = c->second;
        }
        ASSERT_EQ(t.Get(key).value(), want) << key << " at op " << op;
      }
    }
    if (op == 5000) t.Reserve(1000);  // a rehash midway keeps every write findable
  }
  StateDelta delta = t.TakeDelta();
  ASSERT_EQ(delta.writes.size(), written.size());
  size_t i = 0;
  for (const auto& [key, value] : written) {
    EXPECT_EQ(delta.writes[i].first, DataKey(0, 0, key));
    EXPECT_EQ(delta.writes[i].second, value) << key;
    ++i;
  }
}

// A commit of many keys is written as an SST file while the sink commits and ingested by the
// commit: the same values, deletions, markers and max event time as a WriteBatch, all or
// nothing, and no file left behind.
TEST(StateStoreTest, LargeCommitsAreIngestedFilesWithTheSameEffect) {
  TempDir dir;
  ::setenv("ONCEFLOW_STATE_INGEST_MIN_WRITES", "100", 1);
  auto store = StateStore::Open(dir.path() + "/state", 2).value();
  ::unsetenv("ONCEFLOW_STATE_INGEST_MIN_WRITES");
  ASSERT_EQ(store->ingest_min_writes(), size_t{100});
  const std::string ingest_dir = dir.path() + "/state.ingest";
  auto files_left = [&] {
    return std::distance(std::filesystem::directory_iterator(ingest_dir),
                         std::filesystem::directory_iterator());
  };
  auto commit = [&](BatchId batch, int keys, int removed_below, const std::string& value,
                    std::optional<int64_t> event_time) {
    TaskState t0(store.get(), 0, 0), t1(store.get(), 0, 1);
    for (int k = 0; k < keys; ++k) {
      TaskState& t = k % 2 == 0 ? t0 : t1;
      if (k < removed_below) {
        t.Remove("key" + std::to_string(k));
      } else {
        t.Put("key" + std::to_string(k), value + std::to_string(k));
      }
    }
    t1.SetTimer(5, "key1");
    StateDelta d[] = {t0.TakeDelta(), t1.TakeDelta()};
    return store->Commit(batch, d, event_time);
  };
  ASSERT_TRUE(commit(BatchId(0), 1000, 0, "a", 77).ok());
  EXPECT_EQ(store->ingested_commits(), 1);
  EXPECT_EQ(files_left(), 0);
  ASSERT_TRUE(commit(BatchId(1), 10, 0, "small", std::nullopt).ok());  // below: a WriteBatch
  EXPECT_EQ(store->ingested_commits(), 1);
  // A failed ingestion changes nothing and leaves no file.
  ASSERT_TRUE(faults::Arm("mid_state_commit=throw#1").ok());
  EXPECT_FALSE(commit(BatchId(2), 1000, 300, "lost", 99).ok());
  faults::DisarmAll();
  EXPECT_EQ(files_left(), 0);
  EXPECT_EQ(store->batch(), BatchId(1));
  EXPECT_EQ(store->Get(DataKey(0, 0, "key0")).value(), "small0");
  EXPECT_EQ(store->Get(DataKey(0, 1, "key501")).value(), "a501");
  ASSERT_TRUE(commit(BatchId(2), 1000, 300, "b", 99).ok());
  EXPECT_EQ(store->ingested_commits(), 2);
  // A file left by a crash between Prepare and Commit is removed by the next open.
  {
    std::ofstream stray(ingest_dir + "/batch-9-0.sst");
    stray << "partial";
  }
  const std::string path = store->dir();
  store.reset();
  auto reopened = StateStore::Open(path, 2, /*cache_bytes=*/0).value();
  EXPECT_EQ(files_left(), 0);
  EXPECT_EQ(reopened->batch(), BatchId(2));
  EXPECT_EQ(reopened->max_event_time(), std::optional<int64_t>(99));
  int wrong = 0;
  for (int k = 0; k < 1000; ++k) {
    auto v = reopened->Get(DataKey(0, k % 2, "key" + std::to_string(k))).value();
    const std::optional<std::string> want =
        k < 300 ? std::nullopt : std::optional<std::string>("b" + std::to_string(k));
    if (v != want) ++wrong;
  }
  EXPECT_EQ(wrong, 0);
  TaskState t1(reopened.get(), 0, 1);
  auto due = t1.DueTimers(10).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].second, "key1");
}

TEST(StateStoreTest, TinyCacheEvictsAndStillReadsEveryValue) {
  TempDir dir;
  auto store = StateStore::Open(dir.path() + "/state", 2, /*cache_bytes=*/4096).value();
  for (int b = 0; b < 3; ++b) {
    TaskState t0(store.get(), 0, 0), t1(store.get(), 0, 1);
    for (int k = 0; k < 500; ++k) {
      const std::string key = "key" + std::to_string(k);
      TaskState& t = k % 2 == 0 ? t0 : t1;
      auto v = t.Get(key).value();
      EXPECT_EQ(v.value_or("none"), b == 0 ? "none" : std::to_string(k * 10 + b - 1));
      t.Put(key, std::to_string(k * 10 + b));
    }
    StateDelta d[] = {t0.TakeDelta(), t1.TakeDelta()};
    ASSERT_TRUE(store->Commit(BatchId(b), d, std::nullopt).ok());
  }
}

}  // namespace
}  // namespace onceflow::state
