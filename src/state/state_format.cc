// State store key encodings.
#include "state/state_format.h"

namespace onceflow::state {
namespace {

void PutU16Be(std::string* dst, uint16_t v) {
  dst->push_back(static_cast<char>(v >> 8));
  dst->push_back(static_cast<char>(v & 0xff));
}

void PutU32Be(std::string* dst, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    dst->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

constexpr size_t kTimerHeader = 1 + 2 + 4 + 8;

}  // namespace

void PutTimeBe(std::string* dst, int64_t time) {
  const uint64_t v = static_cast<uint64_t>(time) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) {
    dst->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

int64_t GetTimeBe(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return static_cast<int64_t>(v ^ (uint64_t{1} << 63));
}

std::string DataPrefix(OperatorId op, int32_t task) {
  std::string k(1, kDataKind);
  PutU16Be(&k, op);
  PutU32Be(&k, static_cast<uint32_t>(task));
  return k;
}

std::string DataKey(OperatorId op, int32_t task, std::string_view user_key) {
  std::string k = DataPrefix(op, task);
  k.append(user_key);
  return k;
}

std::string TimerPrefix(OperatorId op, int32_t task) {
  std::string k(1, kTimerKind);
  PutU16Be(&k, op);
  PutU32Be(&k, static_cast<uint32_t>(task));
  return k;
}

std::string TimerKey(OperatorId op, int32_t task, int64_t time, std::string_view user_key) {
  std::string k = TimerPrefix(op, task);
  PutTimeBe(&k, time);
  k.append(user_key);
  return k;
}

std::optional<TimerParts> ParseTimerKey(std::string_view key) {
  if (key.size() < kTimerHeader || key[0] != kTimerKind) return std::nullopt;
  return TimerParts{GetTimeBe(key.data() + 7), key.substr(kTimerHeader)};
}

std::string MarkerKey(int32_t task) {
  std::string k(1, kMarkerKind);
  PutU32Be(&k, static_cast<uint32_t>(task));
  return k;
}

std::string MetaKey(std::string_view name) {
  std::string k(1, kMetaKind);
  k.append(name);
  return k;
}

uint64_t KeyHash(std::string_view bytes) {
  uint64_t h = kKeyHashStart;
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

int32_t StateTaskOf(std::string_view key, int32_t tasks) {
  return static_cast<int32_t>(KeyHash(key) % static_cast<uint64_t>(tasks));
}

}  // namespace onceflow::state
