// A state task's buffered view.
#include "state/task_state.h"

#include <algorithm>

namespace onceflow::state {

const std::optional<std::string>* TaskState::Find(std::string_view key) const {
  const size_t i =
      index_.Find(FlatIndex::Hash(key), [&](size_t w) { return writes_[w].first == key; });
  return i == FlatIndex::kNone ? nullptr : &writes_[i].second;
}

void TaskState::Set(std::string key, std::optional<std::string> value) {
  bool added = false;
  const size_t i = index_.FindOrAdd(
      FlatIndex::Hash(key), [&](size_t w) { return writes_[w].first == key; }, &added);
  if (added) {
    writes_.emplace_back(std::move(key), std::move(value));
  } else {
    writes_[i].second = std::move(value);
  }
}

void TaskState::Reserve(size_t n) {
  writes_.reserve(writes_.size() + n);
  index_.Reserve(writes_.size() + n);
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
  std::sort(
      delta.writes.begin(), delta.writes.end(),
      [](const StateDelta::Write& a, const StateDelta::Write& b) { return a.first < b.first; });
  writes_.clear();
  index_.Clear();
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
  ONCEFLOW_RETURN_IF_ERROR(store_->Scan(begin, end, [&](std::string_view key, std::string_view) {
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
