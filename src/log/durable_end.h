// DurableEnd: a partition's published durable end (its `DURABLE` file), Kafka's high watermark
// on one machine. The partition's one writer publishes, after each group commit's fdatasync,
// the offset below which every record is durable; read-only openers in other processes never
// hand out a record at or past it. Byte layout: docs/formats/durable_end.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "onceflow/ids.h"
#include "onceflow/status.h"
#include "util/file.h"

namespace onceflow::log {

inline constexpr std::string_view kDurableEndName = "DURABLE";
// Two slots of 16 bytes: end offset (fixed64), sequence (fixed32), crc32c of the 12 bytes
// before it (fixed32). Publishes alternate between the slots, so that the slot a reader may
// catch mid-write is never the only valid one.
inline constexpr size_t kDurableSlotSize = 16;
inline constexpr size_t kDurableFileSize = 2 * kDurableSlotSize;

// One slot, decoded.
struct DurableSlot {
  Offset end;
  uint32_t seq = 0;
};

// The make/parse pair of a slot. Parse returns nullopt for a slot whose checksum does not
// match (never written, or caught mid-write).
std::string EncodeDurableSlot(const DurableSlot& slot);
std::optional<DurableSlot> ParseDurableSlot(std::string_view bytes);
// The newer of the valid slots of a whole file's bytes (sequence compared modulo 2^32), or
// nullopt when neither is valid.
std::optional<DurableSlot> NewestDurableSlot(std::string_view file_bytes);

// The writer's side. Lifecycle: Open once the partition is recovered and locked; Publish after
// every durable group write. Not thread-safe: the group commit's leader publishes, one at a
// time.
class DurableEndWriter {
 public:
  // Opens the partition's DURABLE file in `dir`, creating it atomically (written, synced,
  // renamed) if it is missing or holds no valid slot, and publishes `end` in it.
  // REQUIRES: the caller holds the partition's lock, and every record before `end` is durable.
  static Result<std::unique_ptr<DurableEndWriter>> Open(const std::string& dir, Offset end);

  // Publishes `end` with one 16-byte pwrite into the slot not holding the newest value (no
  // fsync: the value is only ever at or below what is durable, so an older one read after a
  // crash is merely stale). REQUIRES: every record before `end` is durable.
  Status Publish(Offset end);

  DurableEndWriter(const DurableEndWriter&) = delete;
  DurableEndWriter& operator=(const DurableEndWriter&) = delete;

 private:
  DurableEndWriter(File file, uint32_t seq) : file_(std::move(file)), seq_(seq) {}

  File file_;
  uint32_t seq_;  // the sequence of the newest published slot
};

// The read-only opener's side: re-reads the file at every Read. Not thread-safe (the owning
// PartitionLog holds its lock).
class DurableEndReader {
 public:
  explicit DurableEndReader(std::string dir) : dir_(std::move(dir)) {}

  // The published durable end, or nullopt when the partition has no DURABLE file (no writer
  // of this version has opened it). A slot caught mid-write is skipped; a file with no valid
  // slot is corruption naming it.
  Result<std::optional<Offset>> Read();

  DurableEndReader(const DurableEndReader&) = delete;
  DurableEndReader& operator=(const DurableEndReader&) = delete;

 private:
  std::string dir_;
  std::optional<File> file_;  // opened at the first Read that finds the file
};

}  // namespace onceflow::log
