// Byte layout of a record batch, the unit of every onceflow log (docs/formats/log.md is the
// reference; this header is its code). Little-endian throughout.
//
//   0  base_offset      u64  offset of the first record (assigned at append: not under the CRC)
//   8  batch_length     u32  bytes of the whole batch, header included; 0 ends the data of a
//                            preallocated (zero-filled) segment
//  12  crc              u32  CRC32C of bytes [16, batch_length)
//  16  magic            u8   kMagicV2 (kMagicV1 in logs written before version 2)
//  17  attributes       u8   v2: bit 0 = kAttrGroupStart, set by the log on the first batch of
//                            each group write; other bits 0. v1: 0
//  18  header_length    u16  kBatchHeaderSize
//  20  record_count     u32  >= 1; record i has offset base_offset + i
//  24  first_timestamp  i64  ms since the epoch
//  32  max_timestamp    i64
//  40  records          record_count records, each:
//        varint  body_length            bytes of the rest of this record
//        varint  zigzag(timestamp - first_timestamp)
//        varint  key_length + 1         0 means "no key"
//        bytes   key
//        varint  value_length
//        bytes   value
//        varint  header_count
//        header_count x (varint key_length, key, varint value_length, value)
#pragma once

#include <cstddef>
#include <cstdint>

namespace onceflow::log {

constexpr size_t kBaseOffsetPos = 0;
constexpr size_t kBatchLengthPos = 8;
constexpr size_t kCrcPos = 12;
constexpr size_t kMagicPos = 16;
constexpr size_t kAttributesPos = 17;
constexpr size_t kHeaderLengthPos = 18;
constexpr size_t kRecordCountPos = 20;
constexpr size_t kFirstTimestampPos = 24;
constexpr size_t kMaxTimestampPos = 32;
constexpr size_t kBatchHeaderSize = 40;
// The CRC covers everything from the magic byte to the end of the batch.
constexpr size_t kCrcStart = kMagicPos;

constexpr uint8_t kMagicV1 = 1;
// Version 2 adds the group-start attribute: recovery tells group writes apart, so that only the
// last one (whose fdatasync may not have completed) can be cut as a torn tail.
constexpr uint8_t kMagicV2 = 2;
constexpr uint8_t kCurrentMagic = kMagicV2;
// attributes bit 0 (v2): this batch is the first of a group write. A valid batch carrying it
// after a damaged batch proves that the damaged bytes were synced before (the group commit
// writes a group only once the previous one's fdatasync returned): that damage is corruption.
constexpr uint8_t kAttrGroupStart = 0x01;
// A batch larger than this is refused on append and treated as garbage when read.
constexpr uint32_t kMaxBatchBytes = 64u << 20;
// The smallest possible record: five one-byte varints and no bytes.
constexpr size_t kMinRecordBytes = 5;

}  // namespace onceflow::log
