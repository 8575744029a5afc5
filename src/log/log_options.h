// Options of a partition's log. A topic stores its options in its topic.meta file; the defaults
// here are what `onceflow topics create` uses.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "log/loss_record.h"

namespace onceflow::log {

enum class Durability {
  kFsync,  // an append returns once its bytes are fdatasync'ed: an ack means durable
  kNone,   // an append returns once its bytes are handed to the OS: for throwaway data
};

std::string_view DurabilityName(Durability d);
std::optional<Durability> ParseDurability(std::string_view name);

// The group commit writes at most this much per write+fdatasync; the torn-tail recovery relies
// on it (a torn write cannot be longer).
constexpr uint64_t kMaxGroupBytes = 4u << 20;

struct LogOptions {
  Durability durability = Durability::kFsync;
  // A segment is sealed and a new one started once it holds this many bytes.
  uint64_t segment_bytes = 64u << 20;
  // One sparse index entry per this many bytes of batches.
  uint64_t index_interval_bytes = 4096;
  // Zero-fill the next segment in the background (with fsync durability). Overwriting a
  // zero-filled file and fdatasync'ing is faster than growing it, but the zero-fill writes every
  // byte twice and competes with the appends, and a roll waits for it: measured under sustained
  // load it costs 3-72 % of throughput and 10x the worst append latency (bench/RESULTS.md,
  // log_append), so it is off by default. Worth it for small logs appended slowly (the
  // checkpoint's offsets and commits logs turn it on).
  bool preallocate = false;
  // Retention of sealed segments: by total size of the partition, and by the age of a segment's
  // newest record. -1 keeps everything. The active segment is never deleted.
  int64_t retention_bytes = -1;
  int64_t retention_ms = -1;
  // Open without taking the partition's lock or changing any file: another process may be
  // appending. Appends are refused.
  bool read_only = false;
  // Told of every loss the log records while this partition is open (a torn tail cut at
  // recovery). Unset: the process-wide reporter (SetLossReporter). Library code never prints.
  LossReporter on_loss;
};

}  // namespace onceflow::log
