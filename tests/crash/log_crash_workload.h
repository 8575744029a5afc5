// The workload of the log crash test, shared by the child that appends (log_crash_child.cc) and
// the parent that kills it and checks the log (log_crash_test.cc): the records each appender
// writes, the acknowledgement files, and the topic's configuration.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log/log_options.h"
#include "onceflow/record.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/file.h"

namespace onceflow::crash {

// The topic the child appends to: one partition, fsync durability, small segments so that they
// roll (and the next one is preallocated) every few hundred milliseconds.
inline constexpr std::string_view kTopicName = "crash";
inline constexpr uint64_t kSegmentBytes = 64u << 10;
inline constexpr uint64_t kIndexIntervalBytes = 4096;

// SplitMix64: a stateless mix, so that a record's content is a pure function of (thread, seq).
inline uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// The identity of a record: which appender thread wrote it and its sequence number there.
struct RecordId {
  uint32_t thread = 0;
  uint64_t seq = 0;
  friend bool operator==(const RecordId&, const RecordId&) = default;
};

// The value of record (thread, seq):
//   u32 thread | u64 seq | u32 payload_length | payload | u32 crc32c of all bytes before it.
// About one record in twenty has a payload larger than a page (4-9 KiB), so that batches and
// group writes straddle pages; the rest have 0-300 bytes.
inline std::string MakeValue(RecordId id) {
  const uint64_t h = Mix((static_cast<uint64_t>(id.thread) << 48) ^ id.seq);
  const size_t payload = (h % 20 == 0) ? 4096 + (h >> 8) % 5000 : (h >> 8) % 301;
  std::string v(16 + payload, '\0');
  coding::EncodeFixed32(v.data(), id.thread);
  coding::EncodeFixed64(v.data() + 4, id.seq);
  coding::EncodeFixed32(v.data() + 12, static_cast<uint32_t>(payload));
  uint64_t state = h;
  for (size_t i = 0; i < payload; ++i) {
    if (i % 8 == 0) state = Mix(state);
    v[16 + i] = static_cast<char>(state >> (8 * (i % 8)));
  }
  coding::PutFixed32(&v, crc32c::Value(v));
  return v;
}

// Parses a value made by MakeValue, checking its length and checksum. Returns nullopt for bytes
// that are not such a value (garbled or torn).
inline std::optional<RecordId> ParseValue(std::string_view v) {
  if (v.size() < 20) return std::nullopt;
  const uint32_t payload = coding::DecodeFixed32(v.data() + 12);
  if (v.size() != 20 + static_cast<uint64_t>(payload)) return std::nullopt;
  if (crc32c::Value(v.data(), v.size() - 4) != coding::DecodeFixed32(v.data() + v.size() - 4)) {
    return std::nullopt;
  }
  return RecordId{coding::DecodeFixed32(v.data()), coding::DecodeFixed64(v.data() + 4)};
}

// The rest of record (thread, seq): its key, timestamp and headers, also pure functions of the
// identity so that the parent can check a record field by field. Every fourth record has no key
// and every third one header.
struct ExpectedRecord {
  std::optional<std::string> key;
  std::string value;
  int64_t timestamp_ms = 0;
  std::vector<Header> headers;
};

inline ExpectedRecord MakeRecord(RecordId id) {
  ExpectedRecord r;
  if (id.seq % 4 != 0) r.key = "t" + std::to_string(id.thread);
  r.value = MakeValue(id);
  r.timestamp_ms = 1'700'000'000'000 + static_cast<int64_t>(id.seq);
  if (id.seq % 3 == 0) r.headers.push_back({"seq", std::to_string(id.seq)});
  return r;
}

// One acknowledged append: `count` records of `thread`, seq .. seq+count-1, at offsets
// offset .. offset+count-1. The child writes one line "offset count thread seq\n" per append
// after Append returned, with one write(2): a SIGKILL can lose the line, never the page cache.
struct Ack {
  int64_t offset = 0;
  uint32_t count = 0;
  uint32_t thread = 0;
  uint64_t seq = 0;
};

inline std::string FormatAck(const Ack& a) {
  char line[96];
  const int n =
      std::snprintf(line, sizeof(line), "%lld %u %u %llu\n", static_cast<long long>(a.offset),
                    a.count, a.thread, static_cast<unsigned long long>(a.seq));
  return std::string(line, static_cast<size_t>(n));
}

// Each child run (iteration) and thread writes its own file, so a line torn by a kill is
// always the last line of its file.
inline std::string AckFileName(int iteration, uint32_t thread) {
  return "ack-" + std::to_string(iteration) + "-" + std::to_string(thread) + ".txt";
}

// Reads every complete line of the ack files in `ack_dir`. A last line without its newline (the
// child was killed while writing it) is ignored: that append simply counts as unacknowledged.
inline Result<std::vector<Ack>> ReadAcks(const std::string& ack_dir) {
  std::vector<Ack> acks;
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(ack_dir));
  for (const std::string& name : names) {
    if (!name.starts_with("ack-")) continue;
    ONCEFLOW_ASSIGN_OR_RETURN(std::string text, ReadFileToString(JoinPath(ack_dir, name)));
    size_t start = 0;
    while (true) {
      const size_t nl = text.find('\n', start);
      if (nl == std::string::npos) break;
      const std::string line = text.substr(start, nl - start);
      start = nl + 1;
      long long offset = 0;
      unsigned count = 0, thread = 0;
      unsigned long long seq = 0;
      if (std::sscanf(line.c_str(), "%lld %u %u %llu", &offset, &count, &thread, &seq) != 4) {
        return Err(Status::Corruption("bad ack line '" + line + "' in " + name));
      }
      acks.push_back({offset, count, thread, seq});
    }
  }
  return acks;
}

}  // namespace onceflow::crash
