// StateCache: an in-memory copy of committed state values in front of RocksDB, so that the
// reads of a batch stop touching RocksDB for keys seen before. Write-through: the store fills it
// only with values it read from RocksDB or has just committed to RocksDB, never with a batch's
// uncommitted deltas, so a hit is always the state as of the last committed batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace onceflow::state {

// Lifecycle: owned by one StateStore. Entries are charged (key + value + a fixed overhead per
// entry, kEntryOverhead in state_cache.cc) against a byte budget split evenly over 16 shards; a
// shard over its share evicts entries, in slot order from where its last eviction stopped, down
// to 7/8 of its share (no recency is kept: a miss only costs a RocksDB read). The entry just
// stored is never the one evicted; an entry that alone exceeds 7/8 of a share is not stored.
// Thread-safety: every method may be called from any thread. Lookups and fills of different
// keys run in parallel (the keys are sharded, one mutex per shard).
// The fill race: a reader that missed, read RocksDB and then fills must not overwrite a newer
// value written through by a commit in between. Each shard has a version that every Update and
// Clear bump; Fill only stores if the shard's version is still the one Version() returned before
// the RocksDB read.
class StateCache {
 public:
  // capacity_bytes == 0 disables the cache (every lookup misses, nothing is stored).
  explicit StateCache(size_t capacity_bytes);
  ~StateCache();

  // A cached committed value: nullopt if the key is not cached; an engaged optional holding
  // nullopt if the key is cached as absent.
  std::optional<std::optional<std::string>> Lookup(std::string_view key) const;
  // The version of the key's shard, to pass to Fill after reading RocksDB.
  uint64_t Version(std::string_view key) const;
  // Stores a value read from RocksDB (nullopt: absent), unless the shard changed since `version`.
  void Fill(std::string_view key, const std::optional<std::string>& value, uint64_t version);
  // Stores a value committed to RocksDB (nullopt: deleted, cached as absent).
  // REQUIRES: the write that holds it returned ok, or is under way with no reader meanwhile and
  // is followed by Clear() if it fails (StateStore::Commit).
  void Update(std::string_view key, const std::optional<std::string>& value);
  // Drops everything (after a failed commit: what RocksDB holds is then read afresh). The
  // shards keep their table sizes.
  void Clear();
  // Pre-sizes every shard's table for `entries` entries in all (spread evenly over the shards,
  // at most as many as the budget can hold), so that a large commit's Updates do not grow the
  // tables one doubling at a time. Only a hint: tables never shrink and still grow past it.
  void Reserve(size_t entries);

  size_t charged_bytes() const;
  bool enabled() const { return shard_capacity_ > 0; }

  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

 private:
  static constexpr size_t kShards = 16;

  // One shard: an open-addressing table and its budget bookkeeping, under its own mutex
  // (state_cache.cc).
  struct Shard;

  Shard& ShardOf(uint64_t hash) const;

  size_t shard_capacity_;  // capacity_bytes / kShards
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace onceflow::state
