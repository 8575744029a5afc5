// The write-through cache of committed state values: 16 shards, each an open-addressing hash
// table (linear probing, backward-shift deletion) of entries allocated one block each.
#include "state/state_cache.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <mutex>
#include <new>

#include "util/check.h"

namespace onceflow::state {
namespace {

// One cached key and its value in a single allocation of exactly AllocSize() bytes: this
// header, then the key's bytes, then the value's bytes.
struct Entry {
  uint32_t key_size;
  uint32_t value_size;
  bool present;  // false: the key is cached as absent (value_size is then 0)

  size_t AllocSize() const { return sizeof(Entry) + key_size + value_size; }
  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {bytes(), key_size}; }
  std::string_view value() const { return {bytes() + key_size, value_size}; }
};

// A table slot. The key's full hash sits beside the pointer so that a probe compares hashes
// before touching an entry, and growth places entries without hashing keys again.
struct Slot {
  uint64_t hash;
  Entry* entry;  // nullptr: the slot is empty
};

// The charge of an entry besides its key and value bytes: its header, the allocator's rounding
// and bookkeeping (about 16 bytes), and its share of the table, which is between 5/16 and 5/8
// full (1.6 to 3.2 slots per entry; 2.5 are charged).
constexpr size_t kEntryOverhead = sizeof(Entry) + 16 + 5 * sizeof(Slot) / 2;
constexpr size_t kMinTableSize = 16;
// The entries a table may hold: it doubles before more than 5/8 of its slots are taken.
size_t MaxEntries(size_t table_size) { return table_size / 8 * 5; }

uint64_t HashOf(std::string_view key) {
  static_assert(sizeof(size_t) == sizeof(uint64_t), "the shard and slot bits need 64 bits");
  return std::hash<std::string_view>()(key);
}

size_t Charge(const Entry& e) { return e.key_size + e.value_size + kEntryOverhead; }

// present == false: the key is absent (value is then empty).
Entry* NewEntry(std::string_view key, std::string_view value, bool present) {
  void* block = ::operator new(sizeof(Entry) + key.size() + value.size());
  auto* e = new (block)
      Entry{static_cast<uint32_t>(key.size()), static_cast<uint32_t>(value.size()), present};
  std::copy(key.begin(), key.end(), e->bytes());  // std::copy: data() may be null when empty
  std::copy(value.begin(), value.end(), e->bytes() + key.size());
  return e;
}

void FreeEntry(Entry* e) { ::operator delete(e, e->AllocSize()); }

// A value's bytes, none if it is absent.
std::string_view BytesOf(const std::optional<std::string>& value) {
  return value ? std::string_view(*value) : std::string_view();
}

}  // namespace

// Invariants of the table (linear probing): its size is a power of two; no empty slot lies
// between an entry's home slot (hash & mask) and the slot holding it, so a probe that starts at
// the home slot and stops at the first empty slot finds every key. Deletion keeps this without
// tombstones by shifting later entries of the run back (EraseAt). At most 5/8 of the slots are
// taken, so every probe reaches an empty slot.
struct alignas(64) StateCache::Shard {
  std::mutex mu;
  std::unique_ptr<Slot[]> slots;  // null until the first store
  size_t mask = 0;                // table size - 1
  size_t count = 0;               // entries in the table
  size_t bytes = 0;               // the sum of the entries' charges
  uint64_t version = 0;           // bumped by Update and Clear (the fill race, see the header)
  size_t cursor = 0;              // where the next eviction starts, so evictions rotate

  ~Shard() { FreeEntries(); }

  size_t TableSize() const { return slots ? mask + 1 : 0; }

  // Returns the slot holding `key`, or the empty slot where its probe ends.
  // REQUIRES: TableSize() > 0 (DCHECKed: with no table, mask 0 reads slots[0] of nothing).
  size_t Probe(uint64_t hash, std::string_view key) const {
    ONCEFLOW_DCHECK(TableSize() > 0);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots[i];
      if (s.entry == nullptr || (s.hash == hash && s.entry->key() == key)) return i;
    }
  }

  // Moves the slots into a table of `size` slots, reusing their stored hashes.
  // REQUIRES: size is a power of two holding count entries below the maximum load (DCHECKed:
  // else the mask drops slots, or the probe loop never meets an empty slot).
  void Rehash(size_t size) {
    ONCEFLOW_DCHECK(std::has_single_bit(size) && count <= MaxEntries(size));
    auto fresh = std::make_unique<Slot[]>(size);  // zeroed: all empty
    const size_t fresh_mask = size - 1;
    for (size_t i = 0; i < TableSize(); ++i) {
      if (slots[i].entry == nullptr) continue;
      size_t j = slots[i].hash & fresh_mask;
      while (fresh[j].entry != nullptr) j = (j + 1) & fresh_mask;
      fresh[j] = slots[i];
    }
    slots = std::move(fresh);
    mask = fresh_mask;
  }

  // Frees the entry in slot i and closes the hole (backward-shift deletion): walking the run
  // after the hole, an entry whose home slot is not cyclically within (hole, its slot] may move
  // back into the hole, and its old slot becomes the hole; the last hole is left empty. An entry
  // only moves backwards and never before its home slot, so the probing invariant holds.
  void EraseAt(size_t hole) {
    bytes -= Charge(*slots[hole].entry);
    FreeEntry(slots[hole].entry);
    --count;
    for (size_t j = (hole + 1) & mask; slots[j].entry != nullptr; j = (j + 1) & mask) {
      const size_t home = slots[j].hash & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots[hole] = slots[j];
        hole = j;
      }
    }
    slots[hole] = Slot{};
  }

  // Evicts entries other than `keep` in slot order from the cursor until bytes <= target.
  // REQUIRES: Charge(*keep) <= target, so that the loop ends (DCHECKed).
  void Evict(size_t target, const Entry* keep) {
    ONCEFLOW_DCHECK(keep == nullptr || Charge(*keep) <= target);
    size_t i = cursor & mask;
    while (bytes > target) {
      const Entry* e = slots[i].entry;
      if (e != nullptr && e != keep) {
        EraseAt(i);  // a later entry may have shifted into slot i: look at it again
      } else {
        i = (i + 1) & mask;
      }
    }
    cursor = i;
  }

  // Stores key -> value (present == false: absent) and evicts down to 7/8 of `budget` if the
  // shard is over it. An entry too large for that is not stored, and an older one of the key is
  // dropped (it would be stale).
  void Store(uint64_t hash, std::string_view key, std::string_view value, bool present,
             size_t budget) {
    const size_t target = budget - budget / 8;
    const size_t charge = key.size() + value.size() + kEntryOverhead;
    if (charge > target || std::max(key.size(), value.size()) > UINT32_MAX) {
      if (count > 0) {
        const size_t i = Probe(hash, key);
        if (slots[i].entry != nullptr) EraseAt(i);
      }
      return;
    }
    if (count + 1 > MaxEntries(TableSize())) Rehash(std::max(kMinTableSize, 2 * TableSize()));
    const size_t i = Probe(hash, key);
    Entry* e = slots[i].entry;
    if (e == nullptr) {
      slots[i] = Slot{hash, NewEntry(key, value, present)};
      ++count;
    } else if (e->value_size == value.size()) {  // same size: overwrite in place
      bytes -= Charge(*e);
      std::copy(value.begin(), value.end(), e->bytes() + e->key_size);
      e->present = present;
    } else {
      bytes -= Charge(*e);
      FreeEntry(e);
      slots[i].entry = NewEntry(key, value, present);
    }
    bytes += charge;
    if (bytes > budget) Evict(target, slots[i].entry);
  }

  // Frees every entry by scanning the slots; the slots themselves are left as they were.
  void FreeEntries() {
    for (size_t i = 0; i < TableSize(); ++i) {
      if (slots[i].entry != nullptr) FreeEntry(slots[i].entry);
    }
  }
};

StateCache::StateCache(size_t capacity_bytes)
    : shard_capacity_(capacity_bytes / kShards), shards_(new Shard[kShards]) {}

StateCache::~StateCache() = default;

StateCache::Shard& StateCache::ShardOf(uint64_t hash) const {
  // The top bits pick the shard, the low bits the slot: they must not overlap, or each shard
  // would use only a fraction of its slots.
  static_assert(std::has_single_bit(kShards));
  return shards_[hash >> (64 - std::countr_zero(kShards))];
}

std::optional<std::optional<std::string>> StateCache::Lookup(std::string_view key) const {
  if (!enabled()) return std::nullopt;
  const uint64_t hash = HashOf(key);
  Shard& shard = ShardOf(hash);
  std::lock_guard lock(shard.mu);
  if (shard.count == 0) return std::nullopt;
  const Entry* e = shard.slots[shard.Probe(hash, key)].entry;
  if (e == nullptr) return std::nullopt;
  if (!e->present) return std::optional<std::string>();  // cached as absent
  return std::optional<std::string>(e->value());
}

uint64_t StateCache::Version(std::string_view key) const {
  Shard& shard = ShardOf(HashOf(key));
  std::lock_guard lock(shard.mu);
  return shard.version;
}

void StateCache::Fill(std::string_view key, const std::optional<std::string>& value,
                      uint64_t version) {
  if (!enabled()) return;
  const uint64_t hash = HashOf(key);
  Shard& shard = ShardOf(hash);
  std::lock_guard lock(shard.mu);
  if (shard.version != version) return;  // a commit or a clear came between: the value may be old
  shard.Store(hash, key, BytesOf(value), value.has_value(), shard_capacity_);
}

void StateCache::Update(std::string_view key, const std::optional<std::string>& value) {
  if (!enabled()) return;
  const uint64_t hash = HashOf(key);
  Shard& shard = ShardOf(hash);
  std::lock_guard lock(shard.mu);
  ++shard.version;
  shard.Store(hash, key, BytesOf(value), value.has_value(), shard_capacity_);
}

void StateCache::Clear() {
  for (size_t i = 0; i < kShards; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mu);
    ++shard.version;
    shard.FreeEntries();
    std::fill_n(shard.slots.get(), shard.TableSize(), Slot{});
    shard.count = 0;
    shard.bytes = 0;
  }
}

void StateCache::Reserve(size_t entries) {
  if (!enabled()) return;
  // No more than the budget holds at the smallest charge; a little slack, as keys do not split
  // evenly over the shards.
  size_t per_shard = std::min(entries / kShards, shard_capacity_ / kEntryOverhead);
  per_shard += per_shard / 16 + 1;
  const size_t size = std::max(kMinTableSize, std::bit_ceil(per_shard * 8 / 5 + 1));
  for (size_t i = 0; i < kShards; ++i) {
    Shard& shard = shards_[i];
    std::lock_guard lock(shard.mu);
    if (size > shard.TableSize()) shard.Rehash(size);
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

}  // namespace onceflow::state
