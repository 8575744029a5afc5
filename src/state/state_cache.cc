// The write-through cache of committed state values.
#include "state/state_cache.h"

namespace onceflow::state {

StateCache::StateCache(size_t capacity_bytes)
    : shard_capacity_(capacity_bytes / kShards), shards_(new Shard[kShards]) {}

StateCache::Shard& StateCache::ShardOf(std::string_view key) const {
  return shards_[Hash()(key) % kShards];
}

std::optional<std::optional<std::string>> StateCache::Lookup(std::string_view key) const {
  if (!enabled()) return std::nullopt;
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return std::nullopt;
  return it->second;
}

uint64_t StateCache::Version(std::string_view key) const {
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  return shard.version;
}

void StateCache::Fill(std::string_view key, const std::optional<std::string>& value,
                      uint64_t version) {
  if (!enabled()) return;
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  if (shard.version != version) return;  // a commit or a clear came between: the value may be old
  StoreLocked(shard, std::string(key), value);
}

void StateCache::Update(std::string key, std::optional<std::string> value) {
  if (!enabled()) return;
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  ++shard.version;
  StoreLocked(shard, std::move(key), std::move(value));
}

void StateCache::Clear() {
  for (size_t i = 0; i < kShards; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mu);
    ++shard.version;
    shard.entries.clear();
    shard.bytes = 0;
  }
}

size_t StateCache::charged_bytes() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].bytes;
  }
  return n;
}

void StateCache::StoreLocked(Shard& shard, std::string key, std::optional<std::string> value) {
  const size_t charge = key.size() + (value ? value->size() : 0) + kEntryOverhead;
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) {
    shard.bytes -= it->first.size() + (it->second ? it->second->size() : 0) + kEntryOverhead;
    it->second = std::move(value);
  } else {
    shard.entries.emplace(std::move(key), std::move(value));
  }
  shard.bytes += charge;
  if (shard.bytes <= shard_capacity_) return;
  // Over budget: evict down to 7/8 of it, in bucket order (no recency is kept: a miss costs
  // only a RocksDB read, and a batch touches each key once).
  const size_t target = shard_capacity_ - shard_capacity_ / 8;
  for (auto e = shard.entries.begin(); e != shard.entries.end() && shard.bytes > target;) {
    shard.bytes -= e->first.size() + (e->second ? e->second->size() : 0) + kEntryOverhead;
    e = shard.entries.erase(e);
  }
}

}  // namespace onceflow::state
