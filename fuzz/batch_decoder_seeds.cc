// Writes the seed corpus of batch_decoder_fuzz (fuzz/corpus/batch_decoder/): valid batches and
// index files, each behind the fuzz target's mode byte.
//
// Usage: batch_decoder_seeds DIR
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "log/offset_index.h"
#include "log/record_batch.h"
#include "onceflow/record.h"
#include "seed_writer.h"

namespace onceflow::log {
namespace {

std::string Batch(const std::vector<RecordView>& records, int64_t base) {
  std::string b = EncodeBatch(records);
  SetBaseOffset(b.data(), Offset(base));
  return b;
}

int Main(int argc, char** argv) {
  fuzz::Seeds seeds;

  RecordView hello;
  hello.value = "hello";
  hello.timestamp_ms = 1700000000000;
  seeds.emplace_back("batch-one-record", std::string(1, '\0') + Batch({hello}, 0));

  const HeaderView headers[] = {{"trace", "abc"}, {"", ""}};
  RecordView keyed;
  keyed.key = "key";
  keyed.value = "value";
  keyed.timestamp_ms = 1700000000500;
  keyed.headers = headers;
  RecordView empty_key;
  empty_key.key = "";
  empty_key.timestamp_ms = 1699999999000;  // earlier than the first: a negative delta
  RecordView no_key;
  no_key.value = std::string_view("\x00\x01\x80\xff", 4);
  no_key.timestamp_ms = 1700000000000;
  seeds.emplace_back("batch-keys-headers",
                     std::string(1, '\0') + Batch({keyed, empty_key, no_key, hello}, 12345));

  // A larger value: multi-byte varints.
  const std::string big(300, 'x');
  RecordView large;
  large.value = big;
  seeds.emplace_back("batch-large-value", std::string(1, '\0') + Batch({large, hello}, 7));

  // A batch whose CRC is wrong: mode 7 repairs it, so the fuzzer can mutate the records freely.
  std::string damaged = Batch({keyed, hello}, 3);
  damaged[damaged.size() - 3] ^= 0x40;
  seeds.emplace_back("batch-repaired-crc", std::string(1, '\x07') + damaged);

  // Timestamps at the edge of int64_t (mode 4 repairs the CRC after a mutation): decoding wraps,
  // and a one-byte change of a delta puts the records more than INT64_MAX apart.
  RecordView newest, before_newest;
  newest.value = "max";
  newest.timestamp_ms = INT64_MAX;
  before_newest.value = "max-1";
  before_newest.timestamp_ms = INT64_MAX - 1;
  seeds.emplace_back("batch-extreme-timestamps",
                     std::string(1, '\x04') + Batch({newest, before_newest}, 0));

  // Index files.
  OffsetIndex index(Offset(1000));
  index.Add(Offset(1000 + 40), 4096);
  index.Add(Offset(1000 + 95), 8200);
  index.Add(Offset(1000 + 180), 12400);
  const SegmentSummary summary{Offset(1000), Offset(1300), 16000, 1700000000000};
  seeds.emplace_back("index-three-entries", std::string(1, '\0') + index.Encode(summary));
  const SegmentSummary empty{Offset(0), Offset(0), 0, 0};
  seeds.emplace_back("index-empty", std::string(1, '\x18') + OffsetIndex(Offset(0)).Encode(empty));

  return fuzz::WriteSeeds(argc, argv, seeds);
}

}  // namespace
}  // namespace onceflow::log

int main(int argc, char** argv) { return onceflow::log::Main(argc, argv); }
