// libFuzzer target for the decoders of the log's on-disk bytes: the record batch header
// (ParseBatchHeader), whole batches (BatchView::Parse and record iteration) and segment index
// files (OffsetIndex::Decode). Built and run by scripts/fuzz.sh.
//
// Input: one mode byte, then the bytes to decode. Random bytes almost never carry a valid
// CRC32C, which would leave the record framing unexplored, so the mode byte's bits ask the
// harness to repair fields before decoding (the raw bytes are always decoded as they are too):
//   bit 0: batch_length := input size        bit 1: magic and header_length made valid
//   bit 2: batch CRC recomputed              bit 3: index magic, version and entry count fixed
//   bit 4: index CRC recomputed
// Whatever decodes must also satisfy the round-trip checks below; a violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "log/log_format.h"
#include "log/offset_index.h"
#include "log/record_batch.h"
#include "onceflow/record.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::log {
namespace {

constexpr size_t kIndexHeaderSize = 44;  // docs/formats/log.md: magic .. entry count
constexpr uint32_t kIndexMagic = 0x5849464F;
constexpr uint32_t kIndexVersion = 1;

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

// Where the byte sums go, so that the compiler cannot drop the reads.
volatile uint64_t g_sink = 0;

// Reads every byte of `s` (so that ASan sees an out-of-bounds view) and folds it into a sum.
uint64_t Touch(std::string_view s) {
  uint64_t sum = 0;
  for (char c : s) sum = sum * 31 + static_cast<unsigned char>(c);
  return sum;
}

Record Own(const RecordView& v) {
  Record r;
  if (v.key) r.key = std::string(*v.key);
  r.value = std::string(v.value);
  r.timestamp_ms = v.timestamp_ms;
  for (const HeaderView& h : v.headers)
    r.headers.push_back({std::string(h.key), std::string(h.value)});
  return r;
}

// Iterates a decoded batch and checks that it is consistent with its header; then re-encodes
// its records and checks that they decode back to the same records.
void CheckBatch(const BatchView& view) {
  const BatchHeader& header = view.header();
  FUZZ_CHECK(header.length == view.bytes().size());
  FUZZ_CHECK(header.record_count >= 1);
  std::vector<Record> records;
  uint64_t sum = 0;
  BatchView::Iterator it = view.records();
  RecordView r;
  Offset offset;
  Offset expected = header.base_offset;
  while (it.Next(&r, &offset)) {
    FUZZ_CHECK(offset == expected);
    expected = expected + 1;
    if (r.key) sum += Touch(*r.key);
    sum += Touch(r.value);
    for (const HeaderView& h : r.headers) sum += Touch(h.key) + Touch(h.value);
    records.push_back(Own(r));
  }
  FUZZ_CHECK(records.size() == header.record_count);
  FUZZ_CHECK(!it.Next(&r, &offset));  // stays at the end
  g_sink = g_sink + sum;

  BatchBuilder builder;
  std::vector<HeaderView> headers;
  for (const Record& rec : records) {
    headers.clear();
    for (const Header& h : rec.headers) headers.push_back({h.key, h.value});
    RecordView v;
    if (rec.key) v.key = *rec.key;
    v.value = rec.value;
    v.timestamp_ms = rec.timestamp_ms;
    v.headers = headers;
    builder.Add(v);
  }
  std::string again = builder.Finish();
  SetBaseOffset(again.data(), header.base_offset);
  auto reparsed = BatchView::Parse(again);
  FUZZ_CHECK(reparsed.has_value());
  FUZZ_CHECK(reparsed->header().record_count == header.record_count);
  BatchView::Iterator it2 = reparsed->records();
  for (const Record& rec : records) {
    FUZZ_CHECK(it2.Next(&r, &offset));
    FUZZ_CHECK(Own(r) == rec);
  }
  FUZZ_CHECK(!it2.Next(&r, &offset));
}

void FuzzBatch(std::string_view input, uint8_t mode) {
  if (input.size() >= kBatchHeaderSize) {
    auto header = ParseBatchHeader(input);
    if (header.has_value()) {
      FUZZ_CHECK(header->length >= kBatchHeaderSize + kMinRecordBytes);
      FUZZ_CHECK(header->length <= kMaxBatchBytes);
      FUZZ_CHECK(header->record_count >= 1);
      FUZZ_CHECK(header->base_offset.value() >= 0);
      FUZZ_CHECK(header->next_offset() > header->base_offset);
    }
  }
  if (auto view = BatchView::Parse(input); view.has_value()) CheckBatch(*view);

  if ((mode & 7) == 0 || input.size() < kBatchHeaderSize) return;
  std::string batch(input);
  char* h = batch.data();
  if (mode & 1) coding::EncodeFixed32(h + kBatchLengthPos, static_cast<uint32_t>(batch.size()));
  if (mode & 2) {
    h[kMagicPos] = static_cast<char>(kMagicV1);
    coding::EncodeFixed16(h + kHeaderLengthPos, kBatchHeaderSize);
  }
  if (mode & 4) {
    coding::EncodeFixed32(h + kCrcPos, crc32c::Value(h + kCrcStart, batch.size() - kCrcStart));
  }
  if (auto view = BatchView::Parse(batch); view.has_value()) CheckBatch(*view);
}

void CheckIndex(std::string_view bytes) {
  SegmentSummary summary;
  auto index = OffsetIndex::Decode(bytes, &summary);
  if (!index.has_value()) return;
  // Decode followed by Encode reproduces the file byte for byte.
  FUZZ_CHECK(index->Encode(summary) == bytes);
  FUZZ_CHECK(index->size() == (bytes.size() - kIndexHeaderSize - 4) / 8);
  (void)index->last_position();
  // Lookup adds relative offsets to the base: only meaningful (and free of overflow) for the
  // base offsets a segment file name can give, which OpenSealed checks before using an index.
  const int64_t base = summary.base_offset.value();
  if (base < 0 || base > INT64_MAX - int64_t{UINT32_MAX}) return;
  for (int64_t rel : {int64_t{0}, int64_t{1}, int64_t{4096}, int64_t{UINT32_MAX}}) {
    const OffsetIndex::Entry e = index->Lookup(summary.base_offset + rel);
    FUZZ_CHECK(e.offset >= summary.base_offset);
  }
  OffsetIndex copy = *index;
  copy.TruncateFrom(copy.last_position());
  FUZZ_CHECK(copy.size() < index->size() || index->size() == 0);
}

void FuzzIndex(std::string_view input, uint8_t mode) {
  CheckIndex(input);
  if ((mode & 0x18) == 0 || input.size() < kIndexHeaderSize + 4) return;
  std::string bytes(input);
  if (mode & 8) {
    const size_t count = (bytes.size() - kIndexHeaderSize - 4) / 8;
    bytes.resize(kIndexHeaderSize + count * 8 + 4);
    coding::EncodeFixed32(bytes.data(), kIndexMagic);
    coding::EncodeFixed32(bytes.data() + 4, kIndexVersion);
    coding::EncodeFixed32(bytes.data() + 40, static_cast<uint32_t>(count));
  }
  if (mode & 16) {
    coding::EncodeFixed32(bytes.data() + bytes.size() - 4,
                          crc32c::Value(bytes.data(), bytes.size() - 4));
  }
  CheckIndex(bytes);
}

}  // namespace
}  // namespace onceflow::log

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  onceflow::log::FuzzBatch(input, mode);
  onceflow::log::FuzzIndex(input, mode);
  return 0;
}
