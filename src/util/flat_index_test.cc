// FlatIndex against a model map, with colliding hashes and growth.
#include "util/flat_index.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace onceflow {
namespace {

TEST(FlatIndexTest, MatchesAModelThroughGrowthAndCollidingHashes) {
  std::mt19937_64 rng(11);
  FlatIndex index;
  std::vector<std::string> entries;  // the caller's entries, by position
  std::unordered_map<std::string, size_t> model;
  // Half the keys share one of 8 hashes (full collisions: only `same` tells them apart), and
  // half of those share their upper 32 bits too.
  auto hash_of = [](const std::string& key) -> uint64_t {
    const uint64_t h = FlatIndex::Hash(key);
    return h % 2 == 0 ? (h % 8) | (uint64_t{h % 4} << 32) : h;
  };
  for (int op = 0; op < 50000; ++op) {
    const std::string key = "k" + std::to_string(rng() % 6000);
    auto same = [&](size_t p) { return entries[p] == key; };
    if (rng() % 3 == 0) {
      auto it = model.find(key);
      ASSERT_EQ(index.Find(hash_of(key), same), it == model.end() ? FlatIndex::kNone : it->second)
          << key;
      continue;
    }
    bool added = false;
    const size_t p = index.FindOrAdd(hash_of(key), same, &added);
    auto [it, fresh] = model.try_emplace(key, entries.size());
    ASSERT_EQ(added, fresh) << key;
    ASSERT_EQ(p, it->second) << key;
    if (added) entries.push_back(key);
    if (op == 20000) index.Reserve(100000);  // a rebuild midway keeps every entry findable
  }
  ASSERT_EQ(index.size(), entries.size());
  for (size_t p = 0; p < entries.size(); ++p) {
    EXPECT_EQ(index.Find(hash_of(entries[p]), [&](size_t q) { return entries[q] == entries[p]; }),
              p);
  }
  index.Clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.Find(hash_of(entries[0]), [](size_t) { return true; }), FlatIndex::kNone);
}

}  // namespace
}  // namespace onceflow
