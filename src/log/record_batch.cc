// Record batch encoding and validation.
#include "log/record_batch.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "log/log_format.h"
#include "util/check.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::log {

using coding::DecodeFixed16;
using coding::DecodeFixed32;
using coding::DecodeFixed64;
using coding::EncodeVarint64;
using coding::VarintLength;

namespace {

// Writes `bytes` at `p`; returns the end. An empty view may have a null data(), which memcpy
// may not be given even for 0 bytes (UBSan's nonnull check).
char* EncodeBytes(char* p, std::string_view bytes) {
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

}  // namespace

void BatchBuilder::Reset() {
  buffer_.reserve(std::max(last_size_, kBatchHeaderSize));
  buffer_.assign(kBatchHeaderSize, '\0');
  count_ = 0;
  first_timestamp_ = 0;
  max_timestamp_ = 0;
}

void BatchBuilder::Add(const RecordView& r) {
  if (count_ == 0) {
    first_timestamp_ = r.timestamp_ms;
    max_timestamp_ = r.timestamp_ms;
  } else if (r.timestamp_ms > max_timestamp_) {
    max_timestamp_ = r.timestamp_ms;
  }
  // Wrapping subtraction: timestamps far apart must not overflow (the decoder wraps back).
  const uint64_t ts_delta = coding::ZigZag(static_cast<int64_t>(
      static_cast<uint64_t>(r.timestamp_ms) - static_cast<uint64_t>(first_timestamp_)));
  const uint64_t key_field = r.key ? r.key->size() + 1 : 0;
  size_t body = VarintLength(ts_delta) + VarintLength(key_field) + (r.key ? r.key->size() : 0) +
                VarintLength(r.value.size()) + r.value.size() + VarintLength(r.headers.size());
  for (const HeaderView& h : r.headers) {
    body +=
        VarintLength(h.key.size()) + h.key.size() + VarintLength(h.value.size()) + h.value.size();
  }
  const size_t old = buffer_.size();
  // One resize per record, then raw writes: this is the producer's hot path.
  buffer_.resize(old + VarintLength(body) + body);
  char* p = buffer_.data() + old;
  p = EncodeVarint64(p, body);
  p = EncodeVarint64(p, ts_delta);
  p = EncodeVarint64(p, key_field);
  if (r.key) p = EncodeBytes(p, *r.key);
  p = EncodeVarint64(p, r.value.size());
  p = EncodeBytes(p, r.value);
  p = EncodeVarint64(p, r.headers.size());
  for (const HeaderView& h : r.headers) {
    p = EncodeVarint64(p, h.key.size());
    p = EncodeBytes(p, h.key);
    p = EncodeVarint64(p, h.value.size());
    p = EncodeBytes(p, h.value);
  }
  ++count_;
}

std::string BatchBuilder::Finish() {
  ONCEFLOW_DCHECK(!empty());  // an empty batch would take no offset yet be a batch on disk
  char* h = buffer_.data();
  coding::EncodeFixed64(h + kBaseOffsetPos, 0);
  coding::EncodeFixed32(h + kBatchLengthPos, static_cast<uint32_t>(buffer_.size()));
  h[kMagicPos] = static_cast<char>(kCurrentMagic);
  h[kAttributesPos] = 0;
  coding::EncodeFixed16(h + kHeaderLengthPos, kBatchHeaderSize);
  coding::EncodeFixed32(h + kRecordCountPos, count_);
  coding::EncodeFixed64(h + kFirstTimestampPos, static_cast<uint64_t>(first_timestamp_));
  coding::EncodeFixed64(h + kMaxTimestampPos, static_cast<uint64_t>(max_timestamp_));
  coding::EncodeFixed32(h + kCrcPos, crc32c::Value(h + kCrcStart, buffer_.size() - kCrcStart));
  last_size_ = buffer_.size();
  std::string out = std::move(buffer_);
  buffer_ = std::string();
  Reset();
  return out;
}

std::string EncodeBatch(std::span<const RecordView> records) {
  BatchBuilder b;
  for (const RecordView& r : records) b.Add(r);
  return b.Finish();
}

void SetBaseOffset(char* batch, Offset base) {
  coding::EncodeFixed64(batch + kBaseOffsetPos, static_cast<uint64_t>(base.value()));
}

void MarkGroupStart(std::span<char> batch) {
  char* h = batch.data();
  // The CRC covers batch.size() bytes: a span of another length would store a wrong CRC.
  ONCEFLOW_DCHECK(batch.size() >= kBatchHeaderSize &&
                  coding::DecodeFixed32(h + kBatchLengthPos) == batch.size());
  h[kMagicPos] = static_cast<char>(kMagicV2);
  h[kAttributesPos] = static_cast<char>(static_cast<uint8_t>(h[kAttributesPos]) | kAttrGroupStart);
  coding::EncodeFixed32(h + kCrcPos, crc32c::Value(h + kCrcStart, batch.size() - kCrcStart));
}

bool BatchHeader::starts_group() const {
  return magic >= kMagicV2 && (attributes & kAttrGroupStart) != 0;
}

Result<BatchHeader> ParseBatchHeader(std::string_view bytes) {
  ONCEFLOW_DCHECK(bytes.size() >= kBatchHeaderSize);
  const char* h = bytes.data();
  BatchHeader header;
  header.base_offset = Offset(static_cast<int64_t>(DecodeFixed64(h + kBaseOffsetPos)));
  header.length = DecodeFixed32(h + kBatchLengthPos);
  header.crc = DecodeFixed32(h + kCrcPos);
  header.record_count = DecodeFixed32(h + kRecordCountPos);
  header.first_timestamp = static_cast<int64_t>(DecodeFixed64(h + kFirstTimestampPos));
  header.max_timestamp = static_cast<int64_t>(DecodeFixed64(h + kMaxTimestampPos));
  const auto magic = static_cast<uint8_t>(h[kMagicPos]);
  header.magic = magic;
  header.attributes = static_cast<uint8_t>(h[kAttributesPos]);
  if (magic != kMagicV1 && magic != kMagicV2) {
    return Err(Status::Corruption("unknown batch magic " + std::to_string(magic)));
  }
  if (DecodeFixed16(h + kHeaderLengthPos) != kBatchHeaderSize) {
    return Err(Status::Corruption("bad batch header length"));
  }
  if (header.length < kBatchHeaderSize + kMinRecordBytes || header.length > kMaxBatchBytes) {
    return Err(Status::Corruption("bad batch length " + std::to_string(header.length)));
  }
  if (header.record_count == 0 ||
      header.record_count > (header.length - kBatchHeaderSize) / kMinRecordBytes) {
    return Err(Status::Corruption("bad record count " + std::to_string(header.record_count)));
  }
  if (header.base_offset.value() < 0 ||
      header.base_offset.value() > INT64_MAX - static_cast<int64_t>(header.record_count)) {
    return Err(Status::Corruption("bad base offset"));
  }
  return header;
}

namespace {

bool ReadBytes(const char*& p, const char* limit, std::string_view* out) {
  uint64_t len = 0;
  p = coding::DecodeVarint64(p, limit, &len);
  if (p == nullptr || len > static_cast<uint64_t>(limit - p)) return false;
  *out = std::string_view(p, len);
  p += len;
  return true;
}

// Decodes one record at p (advancing p past it). Returns false if it is malformed or crosses
// `limit`. On success *headers holds the record's headers and record->headers points at them.
bool DecodeRecord(const char*& p, const char* limit, int64_t first_timestamp, RecordView* record,
                  std::vector<HeaderView>* headers) {
  uint64_t body = 0;
  p = coding::DecodeVarint64(p, limit, &body);
  if (p == nullptr || body > static_cast<uint64_t>(limit - p)) return false;
  const char* end = p + body;
  uint64_t ts = 0, key_field = 0, header_count = 0;
  if ((p = coding::DecodeVarint64(p, end, &ts)) == nullptr) return false;
  if ((p = coding::DecodeVarint64(p, end, &key_field)) == nullptr) return false;
  if (key_field == 0) {
    record->key.reset();
  } else {
    if (key_field - 1 > static_cast<uint64_t>(end - p)) return false;
    record->key = std::string_view(p, key_field - 1);
    p += key_field - 1;
  }
  if (!ReadBytes(p, end, &record->value)) return false;
  if ((p = coding::DecodeVarint64(p, end, &header_count)) == nullptr) return false;
  // Each header takes at least two bytes: a cheap bound against absurd counts.
  if (header_count > static_cast<uint64_t>(end - p) / 2) return false;
  headers->clear();
  for (uint64_t i = 0; i < header_count; ++i) {
    HeaderView h;
    if (!ReadBytes(p, end, &h.key) || !ReadBytes(p, end, &h.value)) return false;
    headers->push_back(h);
  }
  if (p != end) return false;
  // Wrapping arithmetic: a corrupt delta must not be undefined behaviour.
  record->timestamp_ms = static_cast<int64_t>(static_cast<uint64_t>(first_timestamp) +
                                              static_cast<uint64_t>(coding::UnZigZag(ts)));
  record->headers = *headers;
  return true;
}

}  // namespace

Result<BatchView> BatchView::Parse(std::string_view batch) {
  if (batch.size() < kBatchHeaderSize) {
    return Err(Status::Corruption("batch shorter than its header"));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(BatchHeader header, ParseBatchHeader(batch));
  if (header.length != batch.size()) {
    return Err(Status::Corruption("batch length " + std::to_string(header.length) +
                                  " does not match the " + std::to_string(batch.size()) +
                                  " bytes given"));
  }
  const uint32_t actual = crc32c::Value(batch.data() + kCrcStart, batch.size() - kCrcStart);
  if (actual != header.crc) return Err(Status::Corruption("batch checksum mismatch"));
  // Check the framing of every record now, so that iteration cannot fail.
  const char* p = batch.data() + kBatchHeaderSize;
  const char* limit = batch.data() + batch.size();
  RecordView r;
  std::vector<HeaderView> headers;
  for (uint32_t i = 0; i < header.record_count; ++i) {
    if (!DecodeRecord(p, limit, header.first_timestamp, &r, &headers)) {
      return Err(Status::Corruption("malformed record " + std::to_string(i) + " in batch"));
    }
  }
  if (p != limit) return Err(Status::Corruption("trailing bytes after the last record"));
  return BatchView(batch, header);
}

BatchView::Iterator::Iterator(const BatchView& batch)
    : bytes_(batch.bytes_), header_(batch.header_), pos_(bytes_.data() + kBatchHeaderSize) {}

bool BatchView::Iterator::Next(RecordView* record, Offset* offset) {
  if (index_ >= header_.record_count) return false;
  const char* limit = bytes_.data() + bytes_.size();
  // Parse() validated the framing, so this cannot fail.
  [[maybe_unused]] bool ok = DecodeRecord(pos_, limit, header_.first_timestamp, record, &headers_);
  *offset = header_.base_offset + index_;
  ++index_;
  return true;
}

}  // namespace onceflow::log
