// StateCache: an in-memory copy of committed state values in front of RocksDB, so that the
// reads of a batch stop touching RocksDB for keys seen before. Write-through: the store fills it
// only with values it read from RocksDB or has just committed to RocksDB, never with a batch's
// uncommitted deltas, so a hit is always the state as of the last committed batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace onceflow::state {

// Lifecycle: owned by one StateStore. Entries are charged (key + value + a fixed overhead per
// entry) against a byte budget; a shard over its share of the budget evicts entries in no
// particular order (a miss only costs a RocksDB read).
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

  // A cached committed value: nullopt if the key is not cached; an engaged optional holding
  // nullopt if the key is cached as absent.
  std::optional<std::optional<std::string>> Lookup(std::string_view key) const;
  // The version of the key's shard, to pass to Fill after reading RocksDB.
  uint64_t Version(std::string_view key) const;
  // Stores a value read from RocksDB (nullopt: absent), unless the shard changed since `version`.
  void Fill(std::string_view key, const std::optional<std::string>& value, uint64_t version);
  // Stores a value just committed to RocksDB (nullopt: deleted).
  // REQUIRES: the write that holds it returned ok.
  void Update(std::string key, std::optional<std::string> value);
  // Drops everything (after a failed commit: what RocksDB holds is then read afresh).
  void Clear();

  size_t charged_bytes() const;
  bool enabled() const { return shard_capacity_ > 0; }

  StateCache(const StateCache&) = delete;
  StateCache& operator=(const StateCache&) = delete;

 private:
  static constexpr size_t kShards = 16;
  // The unordered_map node, the two strings' headers and the optional's flag, roughly.
  static constexpr size_t kEntryOverhead = 96;

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::optional<std::string>, Hash, std::equal_to<>> entries;
    size_t bytes = 0;      // the charge of `entries`
    uint64_t version = 0;  // bumped by Update and Clear
  };

  Shard& ShardOf(std::string_view key) const;
  // REQUIRES: shard.mu held.
  void StoreLocked(Shard& shard, std::string key, std::optional<std::string> value);

  size_t shard_capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace onceflow::state
