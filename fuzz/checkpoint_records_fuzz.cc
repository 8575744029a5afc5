// libFuzzer target for the records of a pipeline's checkpoint (docs/formats/checkpoint.md):
// the offsets log's intents (DecodeIntent), the commits log's records (DecodeCommitRecord,
// DecodeCommit) and source.meta (DecodeSourceRecord). Built and run by scripts/fuzz.sh.
//
// Input: one mode byte, then the rest.
//   mode % 4 == 0: the rest is decoded as an intent, a commit record and a source.meta. What
//     decodes must re-encode to bytes that decode to the same value; what is refused is
//     corruption or invalid_argument, and source.meta's refusal is one line naming the file.
//   mode % 4 == 1: the rest drives a generator of intents and commit records (any field
//     values), which are encoded and must decode back equal.
//   mode % 4 == 2: the same for source.meta records (starts, accepted losses, any text).
//   mode % 4 == 3: as 0, with the rest prefixed by the current intent version byte.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/batch_intent.h"
#include "checkpoint/source_record.h"
#include "fuzz_check.h"

namespace onceflow::checkpoint {
namespace {

constexpr const char* kPath = "/fuzz/source.meta";

void CheckDecodeError(const Status& s) {
  FUZZ_CHECK(s.IsCorruption() || s.IsInvalidArgument());
  FUZZ_CHECK(s.message().find('\n') == std::string::npos);
}

void FuzzBytes(std::string_view bytes) {
  if (auto intent = DecodeIntent(bytes); intent.has_value()) {
    auto back = DecodeIntent(EncodeIntent(*intent));
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == *intent);
  } else {
    CheckDecodeError(intent.error());
  }

  if (auto commit = DecodeCommitRecord(bytes); commit.has_value()) {
    auto back = DecodeCommitRecord(EncodeCommit(commit->batch, commit->marks));
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == *commit);
    auto batch = DecodeCommit(bytes);
    FUZZ_CHECK(batch.has_value() && *batch == commit->batch);
  } else {
    CheckDecodeError(commit.error());
    FUZZ_CHECK(!DecodeCommit(bytes).has_value());
  }

  if (auto source = DecodeSourceRecord(bytes, kPath); source.has_value()) {
    for (Offset start : source->starts) FUZZ_CHECK(start.value() >= -1);
    const std::string text = EncodeSourceRecord(*source);
    auto back = DecodeSourceRecord(text, kPath);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == *source);
    FUZZ_CHECK(EncodeSourceRecord(*back) == text);
  } else {
    CheckDecodeError(source.error());
    FUZZ_CHECK(source.error().message().starts_with(std::string(kPath) + ": "));
  }
}

void FuzzGeneratedLogRecords(FuzzedDataProvider& in) {
  BatchIntent intent;
  intent.batch = BatchId(in.ConsumeIntegral<int64_t>());
  intent.batch_time_ms = in.ConsumeIntegral<int64_t>();
  intent.watermark_ms = in.ConsumeIntegral<int64_t>();
  intent.max_event_time_ms = in.ConsumeIntegral<int64_t>();
  intent.seed = in.ConsumeIntegral<uint64_t>();
  intent.close_windows = in.ConsumeBool();
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, 16);
  for (size_t i = 0; i < n; ++i) {
    OffsetRange r;
    r.partition = PartitionId(in.ConsumeIntegral<int32_t>());
    r.from = Offset(in.ConsumeIntegral<int64_t>());
    r.until = Offset(in.ConsumeIntegral<int64_t>());
    intent.ranges.push_back(r);
  }
  const std::string bytes = EncodeIntent(intent);
  auto back = DecodeIntent(bytes);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(*back == intent);
  // A record cut short is never read as a shorter valid one.
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    FUZZ_CHECK(!DecodeIntent(std::string_view(bytes).substr(0, cut)).has_value());
  }

  CommitRecord commit;
  commit.batch = BatchId(in.ConsumeIntegral<int64_t>());
  const size_t m = in.ConsumeIntegralInRange<size_t>(0, 16);
  for (size_t i = 0; i < m; ++i) {
    PartitionMark mark;
    mark.partition = PartitionId(in.ConsumeIntegral<int32_t>());
    mark.offset = Offset(in.ConsumeIntegral<int64_t>());
    mark.fingerprint = in.ConsumeIntegral<uint32_t>();
    commit.marks.push_back(mark);
  }
  const std::string commit_bytes = EncodeCommit(commit.batch, commit.marks);
  auto commit_back = DecodeCommitRecord(commit_bytes);
  FUZZ_CHECK(commit_back.has_value());
  FUZZ_CHECK(*commit_back == commit);
  for (size_t cut = 0; cut < commit_bytes.size(); ++cut) {
    FUZZ_CHECK(!DecodeCommitRecord(std::string_view(commit_bytes).substr(0, cut)).has_value());
  }
}

// Text without a newline (a value of source.meta is one line).
std::string Line(FuzzedDataProvider& in) {
  std::string s = in.ConsumeRandomLengthString(64);
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

void FuzzGeneratedSource(FuzzedDataProvider& in) {
  SourceRecord r;
  r.type = Line(in);
  r.topic = Line(in);
  r.id = Line(in);
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < n; ++i) {
    const size_t p = in.ConsumeIntegralInRange<size_t>(0, 64);
    if (r.starts.size() <= p) r.starts.resize(p + 1, Offset(-1));
    r.starts[p] = Offset(in.ConsumeIntegralInRange<int64_t>(0, INT64_MAX));
  }
  const size_t accepted = in.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < accepted; ++i) r.accepted.push_back(Line(in));
  auto back = DecodeSourceRecord(EncodeSourceRecord(r), kPath);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(*back == r);
}

}  // namespace
}  // namespace onceflow::checkpoint

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  FuzzedDataProvider in(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: onceflow::checkpoint::FuzzBytes(rest); break;
    case 1: onceflow::checkpoint::FuzzGeneratedLogRecords(in); break;
    case 2: onceflow::checkpoint::FuzzGeneratedSource(in); break;
    default: onceflow::checkpoint::FuzzBytes(std::string(1, '\x03') + std::string(rest)); break;
  }
  return 0;
}
