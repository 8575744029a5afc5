// The key layout of the state store (docs/formats/state.md): one RocksDB database per pipeline,
// every key starting with a kind byte; data and timer keys then carry the operator and the state
// task, so one operator's share of one task is one contiguous key range.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace onceflow::state {

// The first byte of every key.
inline constexpr char kDataKind = 'D';    // D op:u16be task:u32be user_key -> state value
inline constexpr char kTimerKind = 'T';   // T op:u16be task:u32be time:u64be user_key -> ""
inline constexpr char kMarkerKind = 'M';  // M task:u32be -> batch:u64le (state_batch = N)
inline constexpr char kMetaKind = 'X';    // X name -> value (tasks, format, max_event_time)

// 2 adds Xevent_times; a version-1 store is read and becomes version 2 with its first commit
// that writes Xevent_times (so that an older onceflow, which would not keep Xevent_times up to
// date, refuses it from then on).
inline constexpr int kFormatVersion = 2;

// The operator a piece of state belongs to (a pipeline may have several stateful operators).
using OperatorId = uint16_t;

std::string DataKey(OperatorId op, int32_t task, std::string_view user_key);
// The prefix shared by every data key of (op, task): the kind byte, op and task.
std::string DataPrefix(OperatorId op, int32_t task);
inline constexpr size_t kDataPrefixBytes = 1 + 2 + 4;
std::string TimerKey(OperatorId op, int32_t task, int64_t time, std::string_view user_key);
std::string TimerPrefix(OperatorId op, int32_t task);
std::string MarkerKey(int32_t task);
std::string MetaKey(std::string_view name);

// A timer key's time and user key; nullopt if `key` is not a timer key of that prefix length.
struct TimerParts {
  int64_t time;
  std::string_view user_key;
};
std::optional<TimerParts> ParseTimerKey(std::string_view key);

// The hash of a key's bytes that routes it to its state task: FNV-1a 64's step over each byte,
// started from 1469598103934665603 (FNV's offset basis with its last digit dropped — an early
// typo that is now the format: stores on disk are laid out by it; docs/formats/state.md).
inline constexpr uint64_t kKeyHashStart = 1469598103934665603ULL;
uint64_t KeyHash(std::string_view bytes);

// The state task of an encoded key among `tasks` (> 0): KeyHash(key) mod tasks. Stable across
// builds and restarts: the store's layout depends on it.
int32_t StateTaskOf(std::string_view key, int32_t tasks);

// Times sort as unsigned big-endian: the sign bit is flipped.
void PutTimeBe(std::string* dst, int64_t time);
int64_t GetTimeBe(const char* p);

}  // namespace onceflow::state
