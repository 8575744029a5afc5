// OutputDigest: a 128-bit hash of one task's output for one batch (its rows and dead letters, in
// order), stored with the task's progress row so that a re-run of the batch can tell whether it
// produced the output that was committed (docs/protocol.md, "Replay check").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dataplane/dead_letter.h"
#include "dataplane/sink_row.h"

namespace onceflow::sink {

// The form of the digests this onceflow makes: 2, the rows' count after the rows, so that the
// rows can be hashed as a task makes them. Form 1 (the count first) was written before.
inline constexpr uint8_t kDigestForm = 2;

// XXH3-128 over the byte form in docs/formats/sink_progress.md ("Output digest"). The same
// output has a different digest in each form: digests of two forms are not comparable.
struct OutputDigest {
  uint64_t high = 0;
  uint64_t low = 0;
  uint8_t form = kDigestForm;

  friend bool operator==(const OutputDigest&, const OutputDigest&) = default;
};

// Whether `a` and `b` may be compared to tell two outputs apart: both of one form. A stored
// digest of an older form says nothing about a re-run's output.
inline bool Comparable(const OutputDigest& a, const OutputDigest& b) { return a.form == b.form; }

// The digest of a task's output taken as the task makes its rows, so that each row is hashed
// while it is still in the cache rather than in a second pass over all of them. Lifecycle: Add
// every row in order, then Finish once. Not thread-safe; about 17 KiB, on the heap.
class OutputDigester {
 public:
  OutputDigester();
  ~OutputDigester();

  void Add(const SinkRow& r);
  // The digest of the rows added, then `dead_letters` in order. REQUIRES: called once.
  OutputDigest Finish(std::span<const DeadLetter> dead_letters);

  OutputDigester(const OutputDigester&) = delete;
  OutputDigester& operator=(const OutputDigester&) = delete;

 private:
  class Writer;
  std::unique_ptr<Writer> w_;
  uint64_t rows_ = 0;
};

// The digest of `rows` then `dead_letters`, each in order: field names, value types and values
// of every row with its partition and offset, then every dead letter's partition, offset, raw
// record and error. Equal outputs have equal digests on every machine (the byte form is
// little-endian, length-prefixed and each row tagged, so no two outputs share one by
// construction). The same as an OutputDigester given the rows one by one.
OutputDigest DigestOutput(std::span<const SinkRow> rows, std::span<const DeadLetter> dead_letters);

// The text form: "2:" and 32 lowercase hex digits, `high` first (form 2); the 32 digits alone
// (form 1, as older progress rows hold it). And back (nullopt: neither form exactly).
std::string EncodeDigest(const OutputDigest& d);
std::optional<OutputDigest> DecodeDigest(std::string_view text);

}  // namespace onceflow::sink
