// A state task's buffered view.
#include "state/task_state.h"

#include <algorithm>
#include <bit>
#include <functional>

namespace onceflow::state {

uint64_t TaskState::HashOf(std::string_view key) { return std::hash<std::string_view>{}(key); }

const std::optional<std::string>* TaskState::Find(std::string_view key) const {
  if (slots_.empty()) return nullptr;
  const uint64_t hash = HashOf(key);
  const uint32_t tag = static_cast<uint32_t>(hash >> 32);
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.index == 0) return nullptr;
    const StateDelta::Write& w = writes_[slot.index - 1];
    if (slot.tag == tag && w.first == key) return &w.second;
  }
}

void TaskState::Set(std::string key, std::optional<std::string> value) {
  if ((writes_.size() + 1) * 2 > slots_.size()) Rehash(std::max<size_t>(16, slots_.size() * 2));
  const uint64_t hash = HashOf(key);
  const uint32_t tag = static_cast<uint32_t>(hash >> 32);
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  for (; slots_[i].index != 0; i = (i + 1) & mask) {
    StateDelta::Write& w = writes_[slots_[i].index - 1];
    if (slots_[i].tag == tag && w.first == key) {
      w.second = std::move(value);
      return;
    }
  }
  slots_[i] = {tag, static_cast<uint32_t>(writes_.size() + 1)};
  writes_.emplace_back(std::move(key), std::move(value));
  hashes_.push_back(hash);
}

void TaskState::Rehash(size_t slots) {
  slots_.assign(slots, Slot{});
  const size_t mask = slots - 1;
  for (size_t w = 0; w < writes_.size(); ++w) {
    size_t i = hashes_[w] & mask;
    while (slots_[i].index != 0) i = (i + 1) & mask;
    slots_[i] = {static_cast<uint32_t>(hashes_[w] >> 32), static_cast<uint32_t>(w + 1)};
  }
}

void TaskState::Reserve(size_t n) {
  const size_t want = writes_.size() + n;
  writes_.reserve(want);
  hashes_.reserve(want);
  if (want * 2 > slots_.size()) Rehash(std::bit_ceil(std::max<size_t>(16, want * 2)));
}

Result<std::optional<std::string>> TaskState::Get(std::string_view user_key) const {
  std::string key = DataKey(op_, task_, user_key);
  if (const auto* written = Find(key)) return *written;
  return store_->Get(key);
}

void TaskState::Put(std::string_view user_key, std::string value) {
  Set(DataKey(op_, task_, user_key), std::move(value));
}

void TaskState::Remove(std::string_view user_key) {
  Set(DataKey(op_, task_, user_key), std::nullopt);
}

StateDelta TaskState::TakeDelta() {
  StateDelta delta;
  delta.task = task_;
  delta.writes = std::move(writes_);
  std::sort(delta.writes.begin(), delta.writes.end(),
            [](const StateDelta::Write& a, const StateDelta::Write& b) { return a.first < b.first; });
  writes_.clear();
  hashes_.clear();
  slots_.clear();
  return delta;
}

void TaskState::SetTimer(int64_t time, std::string_view user_key) {
  Set(TimerKey(op_, task_, time, user_key), std::string());
}

void TaskState::ClearTimer(int64_t time, std::string_view user_key) {
  Set(TimerKey(op_, task_, time, user_key), std::nullopt);
}

Result<std::vector<std::pair<int64_t, std::string>>> TaskState::DueTimers(int64_t until) const {
  std::vector<std::pair<int64_t, std::string>> due;
  const std::string begin = TimerPrefix(op_, task_);
  std::string end = begin;
  if (until == INT64_MAX) {
    end.back() = static_cast<char>(end.back() + 1);  // task ids are < 2^31: no carry
  } else {
    PutTimeBe(&end, until + 1);
  }
  RETURN_IF_ERROR(store_->Scan(begin, end, [&](std::string_view key, std::string_view) {
    if (Find(key) != nullptr) return true;  // decided below
    auto parts = ParseTimerKey(key);
    if (parts) due.emplace_back(parts->time, std::string(parts->user_key));
    return true;
  }));
  for (const auto& [key, value] : writes_) {
    if (!value || key.compare(0, begin.size(), begin) != 0) continue;
    auto parts = ParseTimerKey(key);
    if (parts && parts->time <= until) due.emplace_back(parts->time, std::string(parts->user_key));
  }
  std::sort(due.begin(), due.end());
  return due;
}

}  // namespace onceflow::state
