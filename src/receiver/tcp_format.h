// Byte layout of the receiver's TCP protocol (docs/formats/receiver_tcp.md is the reference;
// this header is its code). Little-endian throughout.
//
// Request frame (client to server), one per request, pipelining allowed:
//    0  magic           u32  kRequestMagic ("OFR1")
//    4  body_length     u32  bytes of the body that follows the 12-byte prefix
//    8  crc             u32  CRC32C of the body
//   12  body:
//         version       u8   kTcpVersion
//         flags         u8   bit 0: has sequence, bit 1: has partition, others 0
//         topic         u16 length + bytes
//         token         u16 length + bytes (empty without --token-file)
//         producer_id   u16 length + bytes (empty: no idempotence)
//         sequence      i64  the first record's sequence (meaningful with flag bit 0)
//         partition     i32  (meaningful with flag bit 1)
//         record_count  u32
//         records       record_count x (u32 length + bytes)
//
// Acknowledgement (server to client), exactly one per request frame, in frame order, sent once
// the frame's records are durable (or the frame is refused):
//    0  magic           u32  kAckMagic ("OFA1")
//    4  status          u16  an HTTP status code: 200, 400, 401, 404, 409, 413, 500, 503
//    6  duplicate       u8   1: a repeat of a stored request, nothing stored
//    7  retry_after_s   u8   with 503
//    8  partition       i32
//   12  base_offset     i64
//   20  count           u32
//   24  message_length  u16, then the message (the error, empty with 200)
#pragma once

#include <cstddef>
#include <cstdint>

namespace onceflow::receiver {

inline constexpr uint32_t kRequestMagic = 0x3152464f;  // "OFR1" as little-endian bytes
inline constexpr uint32_t kAckMagic = 0x3141464f;      // "OFA1"
inline constexpr uint8_t kTcpVersion = 1;
inline constexpr size_t kRequestPrefixSize = 12;
inline constexpr size_t kAckHeaderSize = 26;
inline constexpr uint8_t kFlagHasSequence = 1;
inline constexpr uint8_t kFlagHasPartition = 2;
// Body bytes beyond the records' own: the fixed fields and the three length-prefixed strings.
inline constexpr size_t kMaxFrameOverhead = 64 * 1024;

}  // namespace onceflow::receiver
