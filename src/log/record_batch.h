// Encoding and decoding of record batches (layout in log_format.h). BatchBuilder turns records
// into one encoded batch; BatchView validates an encoded batch and iterates its records.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/record.h"
#include "onceflow/status.h"

namespace onceflow::log {

// Accumulates records into one encoded batch. Not thread-safe; one builder per producer thread.
class BatchBuilder {
 public:
  BatchBuilder() { Reset(); }

  void Add(const RecordView& record);
  // Bytes the batch would have if finished now.
  size_t size_bytes() const { return buffer_.size(); }
  uint32_t count() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Completes the header and CRC and returns the batch, leaving the builder empty. The base
  // offset is 0 until the log assigns it (SetBaseOffset). REQUIRES: !empty() (DCHECKed).
  std::string Finish();
  void Reset();

 private:
  std::string buffer_;
  size_t last_size_ = 0;  // the previous batch's size: reserved up front for the next one
  uint32_t count_ = 0;
  int64_t first_timestamp_ = 0;
  int64_t max_timestamp_ = 0;
};

// Encodes `records` as one batch. REQUIRES: !records.empty() (DCHECKed by Finish).
std::string EncodeBatch(std::span<const RecordView> records);

// Writes the base offset into an encoded batch (outside the CRC, so no recomputation).
void SetBaseOffset(char* batch, Offset base);

// Marks an encoded batch as the first of a group write (magic 2, kAttrGroupStart) and
// recomputes its CRC. REQUIRES: batch.size() is the batch's length (DCHECKed).
void MarkGroupStart(std::span<char> batch);

// The fixed header of a batch.
struct BatchHeader {
  Offset base_offset;
  uint32_t length = 0;
  uint32_t crc = 0;
  uint32_t record_count = 0;
  int64_t first_timestamp = 0;
  int64_t max_timestamp = 0;
  uint8_t magic = 0;
  uint8_t attributes = 0;

  // True if the log wrote this batch first in a group write (format v2).
  bool starts_group() const;
  // The offset after the last record of the batch.
  Offset next_offset() const { return base_offset + record_count; }
};

// Parses the header at the start of `bytes` and checks what can be checked without the body:
// magic, header length, batch length bounds, record count. Does not check the CRC.
// REQUIRES: bytes.size() >= kBatchHeaderSize (DCHECKed: every caller reads the header first).
Result<BatchHeader> ParseBatchHeader(std::string_view bytes);

// A validated batch: header, CRC and the framing of every record were checked when it was made,
// so iterating it cannot fail. Borrows the bytes, which must outlive the view.
class BatchView {
 public:
  // Validates `batch`, which must be exactly one batch (batch.size() == batch_length).
  static Result<BatchView> Parse(std::string_view batch);

  const BatchHeader& header() const { return header_; }
  std::string_view bytes() const { return bytes_; }

  // Iterates the records in offset order.
  class Iterator {
   public:
    // Decodes the next record into *record (views into the batch; headers valid until the next
    // call) and its offset into *offset. Returns false after the last record.
    bool Next(RecordView* record, Offset* offset);

   private:
    friend class BatchView;
    explicit Iterator(const BatchView& batch);
    std::string_view bytes_;  // the batch: an iterator may outlive the view, not the bytes
    BatchHeader header_;
    const char* pos_;
    uint32_t index_ = 0;
    std::vector<HeaderView> headers_;
  };
  Iterator records() const { return Iterator(*this); }

 private:
  BatchView(std::string_view bytes, BatchHeader header) : bytes_(bytes), header_(header) {}
  std::string_view bytes_;
  BatchHeader header_;
};

}  // namespace onceflow::log
