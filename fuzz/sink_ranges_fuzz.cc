// libFuzzer target for the text forms of a sink's progress row (docs/formats/sink_progress.md):
// the ranges column "0:10-20,1:5-7" (DecodeRanges), the starts column "0:10,1:?"
// (DecodeStarts) and the Kafka sink's progress marker "batch=N epoch=E ranges=R started=S
// source=X" (DecodeMarker). Built and run by scripts/fuzz.sh.
//
// Input: one mode byte, then the rest.
//   mode even: the rest is text, fed to all three decoders. Whatever decodes must satisfy the
//     format's rules (ranges: from <= until, no partition twice, nothing negative) and
//     re-encode to text that decodes to the same value.
//   mode odd: the rest drives a generator of valid progress rows (ranges, starts, any source
//     text), which are encoded and must decode back equal.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "sink/kafka_progress_marker.h"
#include "sink/sink.h"

namespace onceflow::sink {
namespace {

bool SameRanges(const std::vector<TaskRange>& a, const std::vector<TaskRange>& b) { return a == b; }

bool SameProgress(const TaskProgress& a, const TaskProgress& b) {
  return a.last_batch == b.last_batch && a.epoch == b.epoch && SameRanges(a.ranges, b.ranges) &&
         a.source == b.source && a.started == b.started;
}

void CheckRanges(const std::vector<TaskRange>& ranges) {
  std::set<int32_t> partitions;
  for (const TaskRange& r : ranges) {
    FUZZ_CHECK(r.partition.value() >= 0);
    FUZZ_CHECK(r.from.value() >= 0);
    FUZZ_CHECK(r.from <= r.until);
    FUZZ_CHECK(partitions.insert(r.partition.value()).second);
  }
}

void FuzzText(std::string_view text) {
  if (auto ranges = DecodeRanges(text); ranges.has_value()) {
    CheckRanges(*ranges);
    const std::string again = EncodeRanges(*ranges);
    auto back = DecodeRanges(again);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(SameRanges(*back, *ranges));
    FUZZ_CHECK(EncodeRanges(*back) == again);  // the encoding is canonical
  } else {
    FUZZ_CHECK(ranges.error().IsInvalidArgument());
  }

  if (auto starts = DecodeStarts(text); starts.has_value()) {
    for (const auto& [partition, offset] : *starts) {
      FUZZ_CHECK(partition.value() >= 0);
      FUZZ_CHECK(!offset || offset->value() >= 0);
    }
    auto back = DecodeStarts(EncodeStarts(*starts));
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == *starts);
  } else {
    FUZZ_CHECK(starts.error().IsInvalidArgument());
  }

  if (auto marker = DecodeMarker(text); marker.has_value()) {
    CheckRanges(marker->ranges);
    auto back = DecodeMarker(EncodeMarker(*marker));
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(SameProgress(*back, *marker));
  } else {
    FUZZ_CHECK(marker.error().IsInvalidArgument());
  }
}

// A valid progress row from the fuzzer's bytes.
TaskProgress Generate(FuzzedDataProvider& in) {
  TaskProgress p;
  p.last_batch = BatchId(in.ConsumeIntegral<int64_t>());
  p.epoch = Epoch(in.ConsumeIntegral<int64_t>());
  std::set<int32_t> used;
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < n; ++i) {
    const int32_t partition = in.ConsumeIntegralInRange<int32_t>(0, INT32_MAX);
    if (!used.insert(partition).second) continue;
    const int64_t from = in.ConsumeIntegralInRange<int64_t>(0, INT64_MAX);
    const int64_t until = in.ConsumeIntegralInRange<int64_t>(from, INT64_MAX);
    p.ranges.push_back({PartitionId(partition), Offset(from), Offset(until)});
  }
  const size_t starts = in.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < starts; ++i) {
    const int32_t partition = in.ConsumeIntegralInRange<int32_t>(0, INT32_MAX);
    std::optional<Offset> offset;
    if (in.ConsumeBool()) offset = Offset(in.ConsumeIntegralInRange<int64_t>(0, INT64_MAX));
    p.started.emplace(PartitionId(partition), offset);
  }
  p.source = in.ConsumeRemainingBytesAsString();
  return p;
}

void FuzzGenerated(std::string_view bytes) {
  FuzzedDataProvider in(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  const TaskProgress p = Generate(in);

  auto ranges = DecodeRanges(EncodeRanges(p.ranges));
  FUZZ_CHECK(ranges.has_value());
  FUZZ_CHECK(SameRanges(*ranges, p.ranges));
  auto starts = DecodeStarts(EncodeStarts(p.started));
  FUZZ_CHECK(starts.has_value());
  FUZZ_CHECK(*starts == p.started);
  auto marker = DecodeMarker(EncodeMarker(p));
  FUZZ_CHECK(marker.has_value());
  FUZZ_CHECK(SameProgress(*marker, p));
}

}  // namespace
}  // namespace onceflow::sink

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    onceflow::sink::FuzzGenerated(rest);
  } else {
    onceflow::sink::FuzzText(rest);
  }
  return 0;
}
