// FlatIndex: finds entries that the caller keeps in a vector, in insertion order, by a 64-bit
// hash of their key — an open-addressing table (linear probing, at most half full) of 8-byte
// slots, each holding 32 bits of an entry's hash and its position. A lookup touches one slot
// and, when those bits match, the one entry it names; a node-based hash map costs an allocation
// per entry and a cache miss per node. For tables that grow for a batch and are dropped whole
// (no erase), of fewer than 2^32 entries.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace onceflow {

class FlatIndex {
 public:
  static constexpr size_t kNone = SIZE_MAX;

  static uint64_t Hash(std::string_view key) { return std::hash<std::string_view>()(key); }

  // The position of the entry with `hash` for which same(position) holds; kNone if none.
  template <typename Same>
  size_t Find(uint64_t hash, Same&& same) const {
    if (slots_.empty()) return kNone;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.position == 0) return kNone;
      if (slot.tag == Tag(hash) && same(slot.position - 1)) return slot.position - 1;
    }
  }

  // As Find; if there is no such entry, `hash` is recorded for position size() — where the
  // caller then appends the entry — and *added is set.
  template <typename Same>
  size_t FindOrAdd(uint64_t hash, Same&& same, bool* added) {
    if (2 * (hashes_.size() + 1) > slots_.size()) Rehash(std::max<size_t>(16, 2 * slots_.size()));
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.position == 0) {
        *added = true;
        hashes_.push_back(hash);
        slot = {Tag(hash), static_cast<uint32_t>(hashes_.size())};
        return hashes_.size() - 1;
      }
      if (slot.tag == Tag(hash) && same(slot.position - 1)) {
        *added = false;
        return slot.position - 1;
      }
    }
  }

  // Room for `n` entries in all without growing.
  void Reserve(size_t n) {
    hashes_.reserve(n);
    if (2 * n > slots_.size()) Rehash(std::bit_ceil(std::max<size_t>(16, 2 * n)));
  }
  size_t size() const { return hashes_.size(); }
  void Clear() {
    slots_.clear();
    hashes_.clear();
  }

 private:
  struct Slot {
    uint32_t tag = 0;       // the hash's upper 32 bits
    uint32_t position = 0;  // the entry's position + 1; 0: empty
  };
  static uint32_t Tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

  // Rebuilds the table with `capacity` slots (a power of two) from the stored hashes.
  void Rehash(size_t capacity) {
    slots_.assign(capacity, Slot{});
    const size_t mask = capacity - 1;
    for (size_t p = 0; p < hashes_.size(); ++p) {
      size_t i = hashes_[p] & mask;
      while (slots_[i].position != 0) i = (i + 1) & mask;
      slots_[i] = {Tag(hashes_[p]), static_cast<uint32_t>(p + 1)};
    }
  }

  std::vector<Slot> slots_;       // empty, or a power of two
  std::vector<uint64_t> hashes_;  // per position, to rebuild the table without hashing keys
};

}  // namespace onceflow
