// The output digest's byte form and hash (docs/formats/sink_progress.md, "Output digest").
#include "sink/output_digest.h"

#include <cstring>
#include <memory>
#include <type_traits>
#include <variant>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace onceflow::sink {
namespace {

// Bytes are gathered in a buffer and hashed a block at a time: one XXH3 update per field would
// cost more than the hashing itself for the short fields rows have.
class DigestWriter {
 public:
  DigestWriter() { XXH3_128bits_reset(&state_); }

  void U8(uint8_t v) { Reserve(1)[0] = static_cast<char>(v); }
  void U64(uint64_t v) {
    char* p = Reserve(8);
    for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));  // little-endian
  }
  void Bytes(std::string_view s) {
    U64(s.size());
    if (s.size() > kBlock / 2) {
      Flush();
      XXH3_128bits_update(&state_, s.data(), s.size());
      return;
    }
    std::memcpy(Reserve(s.size()), s.data(), s.size());
  }

  OutputDigest Finish() {
    Flush();
    const XXH128_hash_t h = XXH3_128bits_digest(&state_);
    return OutputDigest{h.high64, h.low64};
  }

 private:
  static constexpr size_t kBlock = 16384;

  char* Reserve(size_t n) {
    if (used_ + n > kBlock) Flush();
    char* p = buf_ + used_;
    used_ += n;
    return p;
  }
  void Flush() {
    if (used_ > 0) XXH3_128bits_update(&state_, buf_, used_);
    used_ = 0;
  }

  XXH3_state_t state_;
  char buf_[kBlock];
  size_t used_ = 0;
};

void WriteValue(DigestWriter* w, const Value& v) {
  w->U8(static_cast<uint8_t>(v.index()));
  std::visit(
      [w](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          w->U8(x ? 1 : 0);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          w->U64(static_cast<uint64_t>(x));
        } else if constexpr (std::is_same_v<T, double>) {
          uint64_t bits;
          std::memcpy(&bits, &x, sizeof bits);
          w->U64(bits);
        } else if constexpr (std::is_same_v<T, std::string>) {
          w->Bytes(x);
        }
      },
      v);
}

}  // namespace

OutputDigest DigestOutput(std::span<const SinkRow> rows, std::span<const DeadLetter> dead_letters) {
  auto w = std::make_unique<DigestWriter>();  // 16 KiB: not on a task thread's stack
  w->U64(rows.size());
  for (const SinkRow& r : rows) {
    w->U64(static_cast<uint64_t>(r.partition.value()));
    w->U64(static_cast<uint64_t>(r.offset.value()));
    w->U64(r.row.size());
    for (const auto& [name, value] : r.row.fields()) {
      w->Bytes(name);
      WriteValue(w.get(), value);
    }
  }
  w->U64(dead_letters.size());
  for (const DeadLetter& d : dead_letters) {
    w->U64(static_cast<uint64_t>(d.partition.value()));
    w->U64(static_cast<uint64_t>(d.offset.value()));
    w->Bytes(d.raw);
    w->Bytes(d.error);
  }
  return w->Finish();
}

std::string EncodeDigest(const OutputDigest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kHex[(d.high >> (4 * i)) & 0xf];
    out[31 - i] = kHex[(d.low >> (4 * i)) & 0xf];
  }
  return out;
}

std::optional<OutputDigest> DecodeDigest(std::string_view text) {
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
  return OutputDigest{words[0], words[1]};
}

}  // namespace onceflow::sink
