// libFuzzer target for what the state store holds (docs/formats/state.md): its keys (data and
// timer keys, ParseTimerKey, the big-endian times), the operators' stored values — encoded
// values and rows (DecodeValue, DecodeRow: keys, update_state's state), aggregate
// accumulators (DecodeAccs) — and the event times (EventTimes::Decode, Xevent_times). Built
// and run by scripts/fuzz.sh.
//
// Input: one mode byte, then the rest, decoded by every decoder. Whatever decodes must
// re-encode to bytes that decode again and re-encode to the same bytes (values are compared
// by their encoding, so that a NaN equals itself). The mode byte gives the number of
// accumulators DecodeAccs expects (mode % 8).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "operators/aggregate_acc.h"
#include "operators/value_codec.h"
#include "operators/watermark.h"
#include "state/state_format.h"
#include "util/coding.h"

namespace onceflow {
namespace {

void FuzzKeys(std::string_view bytes) {
  if (auto parts = state::ParseTimerKey(bytes); parts.has_value()) {
    FUZZ_CHECK(bytes.size() >= 15 && bytes[0] == state::kTimerKind);
    const auto op = static_cast<state::OperatorId>((static_cast<uint8_t>(bytes[1]) << 8) |
                                                   static_cast<uint8_t>(bytes[2]));
    uint32_t task = 0;
    for (int i = 3; i < 7; ++i) task = (task << 8) | static_cast<uint8_t>(bytes[i]);
    fuzz::Touch(parts->user_key);
    FUZZ_CHECK(state::TimerKey(op, static_cast<int32_t>(task), parts->time, parts->user_key) ==
               bytes);
    FUZZ_CHECK(bytes.starts_with(state::TimerPrefix(op, static_cast<int32_t>(task))));
  } else {
    FUZZ_CHECK(bytes.size() < 15 || bytes[0] != state::kTimerKind);
  }
  // Times sort as their big-endian bytes.
  if (bytes.size() >= 16) {
    const int64_t a = state::GetTimeBe(bytes.data());
    const int64_t b = state::GetTimeBe(bytes.data() + 8);
    std::string ea, eb;
    state::PutTimeBe(&ea, a);
    state::PutTimeBe(&eb, b);
    FUZZ_CHECK(ea == bytes.substr(0, 8) && eb == bytes.substr(8, 8));
    const int order = std::memcmp(ea.data(), eb.data(), 8);
    FUZZ_CHECK((order < 0) == (a < b) && (order == 0) == (a == b));
  }
}

void FuzzValues(std::string_view bytes) {
  // A sequence of values, as a key of several fields is.
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  std::string encoded;
  Value v;
  while (p < end && operators::DecodeValue(&p, end, &v)) {
    FUZZ_CHECK(p <= end);
    if (const std::string* s = std::get_if<std::string>(&v)) fuzz::Touch(*s);
    operators::EncodeValue(&encoded, v);
  }
  const char* q = encoded.data();
  const char* qend = q + encoded.size();
  std::string again;
  while (q < qend) {
    FUZZ_CHECK(operators::DecodeValue(&q, qend, &v));
    operators::EncodeValue(&again, v);
  }
  FUZZ_CHECK(again == encoded);

  if (auto row = operators::DecodeRow(bytes); row.has_value()) {
    std::string first;
    operators::EncodeRow(&first, *row);
    auto back = operators::DecodeRow(first);
    FUZZ_CHECK(back.has_value());
    std::string second;
    operators::EncodeRow(&second, *back);
    FUZZ_CHECK(second == first);
    FUZZ_CHECK(back->size() == row->size());
  } else {
    FUZZ_CHECK(row.error().IsCorruption());
  }
}

void FuzzAccs(std::string_view bytes, size_t count) {
  std::vector<operators::Acc> accs(count);
  const Status s = operators::DecodeAccs(bytes, accs);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption());
    return;
  }
  const std::string first = operators::EncodeAccs(accs);
  std::vector<operators::Acc> back(count);
  FUZZ_CHECK(operators::DecodeAccs(first, back).ok());
  FUZZ_CHECK(operators::EncodeAccs(back) == first);
  for (size_t i = 0; i < count; ++i) {
    FUZZ_CHECK(back[i].n == accs[i].n && back[i].isum == accs[i].isum &&
               back[i].dbl == accs[i].dbl &&
               std::memcmp(&back[i].dsum, &accs[i].dsum, sizeof(double)) == 0);
  }
}

void FuzzEventTimes(std::string_view bytes) {
  auto times = operators::EventTimes::Decode(bytes);
  if (!times.has_value()) {
    FUZZ_CHECK(times.error().IsCorruption());
    return;
  }
  const std::string first = times->Encode();
  auto back = operators::EventTimes::Decode(first);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(*back == *times);
  FUZZ_CHECK(back->Encode() == first);
}

}  // namespace
}  // namespace onceflow

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  onceflow::FuzzKeys(rest);
  onceflow::FuzzValues(rest);
  onceflow::FuzzAccs(rest, data[0] % 8);
  onceflow::FuzzEventTimes(rest);
  return 0;
}
