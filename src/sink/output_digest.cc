// The output digest's byte form and hash (docs/formats/sink_progress.md, "Output digest").
#include "sink/output_digest.h"

#include <bit>
#include <cstring>
#include <memory>
#include <type_traits>
#include <variant>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace onceflow::sink {

// Bytes are gathered in a buffer and hashed a block at a time: one XXH3 update per field would
// cost more than the hashing itself for the short fields rows have. A row whose bytes fit in
// the buffer (nearly all) is written without a bounds check per field.
class OutputDigester::Writer {
 public:
  Writer() { XXH3_128bits_reset(&state_); }

  // Appends `r`'s bytes (docs/formats/sink_progress.md, "Output digest"): its tag, origin and
  // fields.
  void AddRow(const SinkRow& r) {
    const size_t need = RowSize(r.row);
    if (need > kBlock - used_) Flush();
    if (need <= kBlock) {
      char* p = buf_ + used_;
      *p++ = static_cast<char>(kRowTag);
      p = PutU64(p, static_cast<uint64_t>(r.partition.value()));
      p = PutU64(p, static_cast<uint64_t>(r.offset.value()));
      p = PutU64(p, r.row.size());
      for (const auto& [name, value] : r.row.fields()) {
        p = PutStr(p, name);
        p = PutValue(p, value);
      }
      used_ = static_cast<size_t>(p - buf_);
      return;
    }
    // A row longer than the buffer: field by field, long strings hashed in place.
    U8(kRowTag);
    U64(static_cast<uint64_t>(r.partition.value()));
    U64(static_cast<uint64_t>(r.offset.value()));
    U64(r.row.size());
    for (const auto& field : r.row.fields()) {
      // Not a structured binding: clang (the fuzz build) cannot capture one in a lambda.
      const auto& name = field.first;
      const auto& value = field.second;
      Str(name);
      const auto* str = std::get_if<std::string>(&value);
      if (str == nullptr) {
        Small(kValueMax, [&](char* p) { return PutValue(p, value); });
      } else {
        Small(1, [](char* p) {
          *p = static_cast<char>(kString);
          return p + 1;
        });
        Str(*str);
      }
    }
  }

  void U8(uint8_t v) {
    Small(1, [v](char* p) {
      *p = static_cast<char>(v);
      return p + 1;
    });
  }
  void U64(uint64_t v) {
    Small(8, [v](char* p) { return PutU64(p, v); });
  }
  void Str(std::string_view s) {
    U64(s.size());
    if (s.size() <= kBlock - used_) {
      std::memcpy(buf_ + used_, s.data(), s.size());
      used_ += s.size();
      return;
    }
    Flush();
    XXH3_128bits_update(&state_, s.data(), s.size());
  }

  OutputDigest Finish() {
    Flush();
    const XXH128_hash_t h = XXH3_128bits_digest(&state_);
    return OutputDigest{h.high64, h.low64, kDigestForm};
  }

  // Before each row, and once after the last (followed by the rows' count).
  static constexpr uint8_t kRowTag = 1;
  static constexpr uint8_t kEndTag = 0;

 private:
  static constexpr size_t kBlock = 16384;
  static constexpr size_t kValueMax = 9;  // a type byte and 8 bytes
  // libstdc++ keeps strings of up to 15 bytes in a 16-byte buffer inside the object.
  static constexpr size_t kSlack = 16;
  // The type bytes: the index of the alternative in onceflow::Value.
  static constexpr uint8_t kString = 4;
  static_assert(std::is_same_v<std::variant_alternative_t<kString, Value>, std::string>);

  static char* PutU64(char* p, uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(p, &v, 8);
    } else {
      for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
    }
    return p + 8;
  }
  // REQUIRES: kSlack bytes after the string's bytes may be written (the buffer has them).
  static char* PutStr(char* p, const std::string& s) {
    p = PutU64(p, s.size());
    if (s.size() < kSlack) {
      // A short string is in the std::string's own buffer of kSlack bytes: one fixed-size
      // copy (no call), the bytes after its end overwritten by what follows.
      static_assert(sizeof(std::string) >= kSlack + sizeof(size_t));
      std::memcpy(p, s.data(), kSlack);
    } else {
      std::memcpy(p, s.data(), s.size());
    }
    return p + s.size();
  }
  static char* PutValue(char* p, const Value& v) {
    *p++ = static_cast<char>(v.index());
    if (const auto* i = std::get_if<int64_t>(&v)) return PutU64(p, static_cast<uint64_t>(*i));
    if (const auto* s = std::get_if<std::string>(&v)) return PutStr(p, *s);
    if (const auto* d = std::get_if<double>(&v)) {
      uint64_t bits;
      std::memcpy(&bits, d, sizeof bits);
      return PutU64(p, bits);
    }
    if (const auto* b = std::get_if<bool>(&v)) *p++ = *b ? 1 : 0;
    return p;  // null: the type byte alone
  }
  // The bytes of a row: its tag, 3 u64, and per field its name and value.
  static size_t RowSize(const Row& row) {
    size_t n = 25;
    for (const auto& [name, value] : row.fields()) {
      n += 8 + name.size() + kValueMax;
      if (const auto* s = std::get_if<std::string>(&value)) n += s->size();
    }
    return n;
  }

  // Writes at most `max` bytes through `put` (which returns the end of what it wrote).
  template <typename Put>
  void Small(size_t max, Put put) {
    if (max > kBlock - used_) Flush();
    used_ = static_cast<size_t>(put(buf_ + used_) - buf_);
  }
  void Flush() {
    if (used_ > 0) XXH3_128bits_update(&state_, buf_, used_);
    used_ = 0;
  }

  XXH3_state_t state_;
  char buf_[kBlock + kSlack];
  size_t used_ = 0;
};

OutputDigester::OutputDigester() : w_(std::make_unique<Writer>()) {}
OutputDigester::~OutputDigester() = default;

void OutputDigester::Add(const SinkRow& r) {
  w_->AddRow(r);
  ++rows_;
}

OutputDigest OutputDigester::Finish(std::span<const DeadLetter> dead_letters) {
  w_->U8(Writer::kEndTag);
  w_->U64(rows_);
  w_->U64(dead_letters.size());
  for (const DeadLetter& d : dead_letters) {
    w_->U64(static_cast<uint64_t>(d.partition.value()));
    w_->U64(static_cast<uint64_t>(d.offset.value()));
    w_->Str(d.raw);
    w_->Str(d.error);
  }
  return w_->Finish();
}

OutputDigest DigestOutput(std::span<const SinkRow> rows, std::span<const DeadLetter> dead_letters) {
  OutputDigester d;
  for (const SinkRow& r : rows) d.Add(r);
  return d.Finish(dead_letters);
}

std::string EncodeDigest(const OutputDigest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kHex[(d.high >> (4 * i)) & 0xf];
    out[31 - i] = kHex[(d.low >> (4 * i)) & 0xf];
  }
  // Form 1 had no prefix: a row of it read back is written back as it was.
  return d.form == 1 ? out : std::to_string(d.form) + ":" + out;
}

std::optional<OutputDigest> DecodeDigest(std::string_view text) {
  uint8_t form = 1;
  if (text.size() == 34 && text[0] == '2' && text[1] == ':') {
    form = 2;
    text.remove_prefix(2);
  }
  if (text.size() != 32) return std::nullopt;
  uint64_t words[2] = {0, 0};
  for (size_t i = 0; i < 32; ++i) {
    const char c = text[i];
    uint64_t v;
    if (c >= '0' && c <= '9') {
      v = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    words[i / 16] = (words[i / 16] << 4) | v;
  }
  return OutputDigest{words[0], words[1], form};
}

}  // namespace onceflow::sink
