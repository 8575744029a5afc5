// Tests of StateCache against a model map: exact answers without eviction, never a wrong hit
// with it, the fill-race versions, and concurrent use.
#include "state/state_cache.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace onceflow::state {
namespace {

using Value = std::optional<std::string>;
using Cached = std::optional<Value>;

// n distinct keys of 0 to 100 arbitrary bytes (NULs included); the first is the empty key.
std::vector<std::string> MakeKeys(size_t n, std::mt19937_64& rng) {
  std::unordered_set<std::string> seen{""};
  std::vector<std::string> keys{""};
  while (keys.size() < n) {
    std::string key(rng() % 101, '\0');
    for (char& c : key) c = static_cast<char>(rng());
    if (seen.insert(key).second) keys.push_back(std::move(key));
  }
  return keys;
}

// 0 to 100 bytes, empty one time in ten.
std::string MakeValue(std::mt19937_64& rng) {
  std::string value(rng() % 10 == 0 ? 0 : rng() % 101, '\0');
  for (char& c : value) c = static_cast<char>('a' + rng() % 26);
  return value;
}

// The fixed charge per entry, measured: what one entry costs beyond its key and value bytes.
size_t EntryOverhead() {
  StateCache cache(1 << 20);
  cache.Update("k", "v");
  return cache.charged_bytes() - 2;
}

// Checks that the cache holds exactly the entries of `model` (whose every key is in `keys`) and
// that its charge is theirs.
void ExpectHoldsExactly(const StateCache& cache, const std::vector<std::string>& keys,
                        const std::unordered_map<std::string, Value>& model) {
  size_t hits = 0, payload = 0;
  for (const std::string& key : keys) {
    const Cached got = cache.Lookup(key);
    auto it = model.find(key);
    ASSERT_EQ(got.has_value(), it != model.end()) << "key of " << key.size() << " bytes";
    if (!got) continue;
    ASSERT_EQ(*got, it->second);
    ++hits;
    payload += key.size() + got->value_or("").size();
  }
  EXPECT_EQ(hits, model.size());
  EXPECT_EQ(cache.charged_bytes(), payload + hits * EntryOverhead());
}

TEST(StateCacheTest, MatchesAModelExactlyWhenNothingIsEvicted) {
  std::mt19937_64 rng(1);
  const std::vector<std::string> keys = MakeKeys(20000, rng);
  StateCache cache(size_t{1} << 30);
  std::unordered_map<std::string, Value> model;  // what the cache must hold
  size_t hits = 0, refused_fills = 0;
  for (int op = 0; op < 200000; ++op) {
    const std::string& key = keys[rng() % keys.size()];
    const int kind = static_cast<int>(rng() % 100);
    if (kind < 25) {
      const Value value = rng() % 4 == 0 ? Value() : Value(MakeValue(rng));
      cache.Fill(key, value, cache.Version(key));
      model[key] = value;
    } else if (kind < 45) {
      const std::string value = MakeValue(rng);
      cache.Update(key, value);
      model[key] = value;
    } else if (kind < 50) {
      cache.Update(key, std::nullopt);
      model[key] = std::nullopt;
    } else if (kind < 55) {
      // A fill whose shard saw an Update since its Version(): refused unless the update's key is
      // in another shard.
      const uint64_t version = cache.Version(key);
      const std::string& other = keys[rng() % keys.size()];
      cache.Update(other, "other");
      model[other] = "other";
      const bool current = cache.Version(key) == version;
      cache.Fill(key, "filled", version);
      if (current) model[key] = "filled";
      refused_fills += current ? 0 : 1;
    } else {
      const Cached got = cache.Lookup(key);
      auto it = model.find(key);
      ASSERT_EQ(got.has_value(), it != model.end()) << "op " << op;
      if (got) {
        ASSERT_EQ(*got, it->second) << "op " << op;
      }
      hits += got ? 1 : 0;
    }
    if (op % 70000 == 69999) {  // rarely: the tables are to grow large in between
      cache.Clear();
      model.clear();
    }
    if (op == 100000) cache.Reserve(100000);  // a rehash that moves the entries held
    if (op % 40000 == 39999) ExpectHoldsExactly(cache, keys, model);
  }
  ExpectHoldsExactly(cache, keys, model);
  EXPECT_GT(hits, 10000u);
  EXPECT_GT(refused_fills, 100u);
}

TEST(StateCacheTest, EvictionNeverGivesAWrongHitAndKeepsTheBudget) {
  std::mt19937_64 rng(2);
  const std::vector<std::string> keys = MakeKeys(20000, rng);
  const size_t capacity = 16 * 4096;  // a few hundred entries; every single one fits a shard
  StateCache cache(capacity);
  std::unordered_map<std::string, Value> committed;  // what RocksDB would hold
  std::vector<size_t> recent;                        // keys written lately: mostly still cached
  size_t hits = 0, misses_of_recent = 0;
  for (int op = 0; op < 200000; ++op) {
    const bool hot = !recent.empty() && rng() % 2 == 0;
    const size_t k = hot ? recent[rng() % recent.size()] : rng() % keys.size();
    const std::string& key = keys[k];
    const int kind = static_cast<int>(rng() % 100);
    if (kind < 20) {
      auto it = committed.find(key);
      cache.Fill(key, it == committed.end() ? Value() : it->second, cache.Version(key));
    } else if (kind < 50) {
      const Value value = rng() % 5 == 0 ? Value() : Value(MakeValue(rng));
      cache.Update(key, value);
      committed[key] = value;
      // The entry just stored is never the one its store evicts.
      ASSERT_EQ(cache.Lookup(key), Cached(value)) << "op " << op;
      if (recent.size() < 64) {
        recent.push_back(k);
      } else {
        recent[rng() % recent.size()] = k;
      }
    } else {
      const Cached got = cache.Lookup(key);
      if (got) {
        auto it = committed.find(key);
        ASSERT_EQ(*got, it == committed.end() ? Value() : it->second) << "op " << op;
        ++hits;
      } else if (hot) {
        ++misses_of_recent;  // only eviction drops a key here (nothing clears)
      }
    }
    ASSERT_LE(cache.charged_bytes(), capacity) << "op " << op;
  }
  EXPECT_GT(hits, 20000u);            // what was not evicted is still found
  EXPECT_GT(misses_of_recent, 100u);  // and there was eviction
}

TEST(StateCacheTest, FillAfterAnUpdateOrAClearIsRefused) {
  StateCache cache(1 << 20);
  uint64_t version = cache.Version("k");
  cache.Update("k", "new");
  cache.Fill("k", "old", version);
  EXPECT_EQ(cache.Lookup("k"), Cached("new"));
  cache.Fill("k", std::nullopt, version);
  EXPECT_EQ(cache.Lookup("k"), Cached("new"));

  version = cache.Version("k");
  cache.Clear();
  EXPECT_NE(cache.Version("k"), version);
  cache.Fill("k", "old", version);
  EXPECT_EQ(cache.Lookup("k"), std::nullopt);

  cache.Fill("k", "read", cache.Version("k"));  // nothing came between: stored
  EXPECT_EQ(cache.Lookup("k"), Cached("read"));
}

TEST(StateCacheTest, AbsentAndEmptyAreDistinctAndTheEmptyKeyIsAKey) {
  StateCache cache(1 << 20);
  cache.Fill("absent", std::nullopt, cache.Version("absent"));
  cache.Update("deleted", "x");
  cache.Update("deleted", std::nullopt);
  cache.Update("empty", "");
  cache.Update("", "of the empty key");
  EXPECT_EQ(cache.Lookup("absent"), Cached(Value()));
  EXPECT_EQ(cache.Lookup("deleted"), Cached(Value()));
  EXPECT_EQ(cache.Lookup("empty"), Cached(""));
  EXPECT_EQ(cache.Lookup(""), Cached("of the empty key"));
  EXPECT_EQ(cache.Lookup("other"), std::nullopt);
}

TEST(StateCacheTest, DisabledCacheStoresNothing) {
  StateCache cache(0);
  EXPECT_FALSE(cache.enabled());
  cache.Update("k", "v");
  cache.Fill("f", "v", cache.Version("f"));
  cache.Reserve(1000);
  EXPECT_EQ(cache.Lookup("k"), std::nullopt);
  EXPECT_EQ(cache.Lookup("f"), std::nullopt);
  EXPECT_EQ(cache.charged_bytes(), 0u);
}

TEST(StateCacheTest, ValueTooLargeForAShardDropsTheOlderOne) {
  StateCache cache(16 * 1024);
  cache.Update("k", "small");
  ASSERT_EQ(cache.Lookup("k"), Cached("small"));
  cache.Update("k", std::string(2000, 'x'));  // over 7/8 of a shard's 1 KiB
  EXPECT_EQ(cache.Lookup("k"), std::nullopt);
  EXPECT_EQ(cache.charged_bytes(), 0u);
}

TEST(StateCacheTest, ConcurrentUseNeverReturnsAnotherKeysValue) {
  std::mt19937_64 seed_rng(3);
  const std::vector<std::string> keys = MakeKeys(2000, seed_rng);
  StateCache cache(16 * 8192);  // evicts too
  std::vector<size_t> hits(4, 0), bad(4, 0);
  auto run = [&](size_t t) {
    std::mt19937_64 rng(100 + t);
    for (int op = 0; op < 50000; ++op) {
      const std::string& key = keys[rng() % keys.size()];
      const std::string value = key + ":" + std::to_string(t) + "/" + std::to_string(op);
      const int kind = static_cast<int>(rng() % 1000);
      if (kind < 250) {
        cache.Update(key, value);
      } else if (kind < 300) {
        cache.Update(key, std::nullopt);
      } else if (kind < 500) {
        cache.Fill(key, value, cache.Version(key));
      } else if (kind < 999) {
        const Cached got = cache.Lookup(key);
        if (got && *got) {
          ++hits[t];
          if (!(*got)->starts_with(key + ":")) ++bad[t];
        }
      } else {
        cache.Clear();
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) threads.emplace_back(run, t);
  for (std::thread& thread : threads) thread.join();
  for (size_t t = 0; t < 4; ++t) {
    EXPECT_EQ(bad[t], 0u) << "thread " << t;
    EXPECT_GT(hits[t], 1000u) << "thread " << t;
  }
  EXPECT_LE(cache.charged_bytes(), size_t{16 * 8192});
}

}  // namespace
}  // namespace onceflow::state
