// OutputDigest: a 128-bit hash of one task's output for one batch (its rows and dead letters, in
// order), stored with the task's progress row so that a re-run of the batch can tell whether it
// produced the output that was committed (docs/protocol.md, "Replay check").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dataplane/dead_letter.h"
#include "dataplane/sink_row.h"

namespace onceflow::sink {

// XXH3-128 over the byte form in docs/formats/sink_progress.md ("Output digest").
struct OutputDigest {
  uint64_t high = 0;
  uint64_t low = 0;

  friend bool operator==(const OutputDigest&, const OutputDigest&) = default;
};

// The digest of `rows` then `dead_letters`, each in order: field names, value types and values
// of every row with its partition and offset, then every dead letter's partition, offset, raw
// record and error. Equal outputs have equal digests on every machine (the byte form is
// little-endian and length-prefixed, so no two outputs share one by construction).
OutputDigest DigestOutput(std::span<const SinkRow> rows, std::span<const DeadLetter> dead_letters);

// 32 lowercase hex digits, `high` first, and back (nullopt: not exactly that form).
std::string EncodeDigest(const OutputDigest& d);
std::optional<OutputDigest> DecodeDigest(std::string_view text);

}  // namespace onceflow::sink
