// TCP frame codec.
#include "receiver/tcp_frame.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "receiver/tcp_format.h"
#include "util/check.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::receiver {
namespace {

void PutU16String(std::string* out, std::string_view s) {
  char b[2];
  coding::EncodeFixed16(b, static_cast<uint16_t>(s.size()));
  out->append(b, 2);
  out->append(s);
}

// A bounds-checked reader over a frame body.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool Take(size_t n, std::string_view* out) {
    if (s_.size() < n) return false;
    *out = s_.substr(0, n);
    s_.remove_prefix(n);
    return true;
  }
  bool U8(uint8_t* v) {
    std::string_view b;
    if (!Take(1, &b)) return false;
    *v = static_cast<uint8_t>(b[0]);
    return true;
  }
  bool U16(uint16_t* v) {
    std::string_view b;
    if (!Take(2, &b)) return false;
    *v = coding::DecodeFixed16(b.data());
    return true;
  }
  bool U32(uint32_t* v) {
    std::string_view b;
    if (!Take(4, &b)) return false;
    *v = coding::DecodeFixed32(b.data());
    return true;
  }
  bool U64(uint64_t* v) {
    std::string_view b;
    if (!Take(8, &b)) return false;
    *v = coding::DecodeFixed64(b.data());
    return true;
  }
  bool Str16(std::string_view* out) {
    uint16_t n;
    return U16(&n) && Take(n, out);
  }
  size_t remaining() const { return s_.size(); }

 private:
  std::string_view s_;
};

}  // namespace

Result<std::string> EncodeRequestFrame(const TcpRequest& r) {
  // A longer field would be written with its length cut to 16 or 32 bits: a frame that reads
  // back as other fields, or not at all.
  constexpr size_t kU16 = UINT16_MAX;
  for (const auto& [name, field] : {std::pair{"topic", r.topic}, std::pair{"token", r.token},
                                    std::pair{"producer id", r.producer_id}}) {
    if (field.size() > kU16) {
      return Err(Status::InvalidArgument(std::string("cannot send a ") + name + " of " +
                                         std::to_string(field.size()) +
                                         " bytes: the TCP protocol carries at most 65535"));
    }
  }
  uint64_t bytes = 0;
  for (std::string_view v : r.values) bytes += 4 + v.size();
  if (r.values.size() > UINT32_MAX || bytes > UINT32_MAX - kMaxFrameOverhead) {
    return Err(Status::InvalidArgument("cannot send " + std::to_string(r.values.size()) +
                                       " records of " + std::to_string(bytes) +
                                       " bytes in one frame: the TCP protocol carries at most "
                                       "4 GiB"));
  }
  std::string body;
  body.push_back(static_cast<char>(kTcpVersion));
  body.push_back(static_cast<char>((r.sequence ? kFlagHasSequence : 0) |
                                   (r.partition ? kFlagHasPartition : 0)));
  PutU16String(&body, r.topic);
  PutU16String(&body, r.token);
  PutU16String(&body, r.producer_id);
  coding::PutFixed64(&body, static_cast<uint64_t>(r.sequence.value_or(0)));
  coding::PutFixed32(&body, static_cast<uint32_t>(r.partition.value_or(0)));
  coding::PutFixed32(&body, static_cast<uint32_t>(r.values.size()));
  for (std::string_view v : r.values) {
    coding::PutFixed32(&body, static_cast<uint32_t>(v.size()));
    body.append(v);
  }
  std::string frame;
  coding::PutFixed32(&frame, kRequestMagic);
  coding::PutFixed32(&frame, static_cast<uint32_t>(body.size()));
  coding::PutFixed32(&frame, crc32c::Value(body));
  frame += body;
  return frame;
}

Result<TcpRequest> DecodeRequestBody(std::string_view body) {
  Reader in(body);
  TcpRequest r;
  uint8_t version = 0, flags = 0;
  auto bad = [](const std::string& what) {
    return Err(Status::InvalidArgument("bad frame: " + what));
  };
  if (!in.U8(&version) || !in.U8(&flags)) return bad("truncated header");
  if (version != kTcpVersion) {
    return bad("unsupported version " + std::to_string(version) + " (this server speaks " +
               std::to_string(kTcpVersion) + ")");
  }
  // A bit this server does not know asks for something it would not do (a newer client's
  // feature): refused, never ignored.
  if ((flags & ~(kFlagHasSequence | kFlagHasPartition)) != 0) {
    return bad("unknown flags " + std::to_string(flags) + " (this server knows 1: sequence, " +
               "2: partition)");
  }
  if (!in.Str16(&r.topic)) return bad("truncated topic");
  if (!in.Str16(&r.token)) return bad("truncated token");
  if (!in.Str16(&r.producer_id)) return bad("truncated producer id");
  uint64_t sequence = 0;
  uint32_t partition = 0, count = 0;
  if (!in.U64(&sequence) || !in.U32(&partition) || !in.U32(&count)) {
    return bad("truncated sequence, partition or record count");
  }
  if (flags & kFlagHasSequence) r.sequence = static_cast<int64_t>(sequence);
  if (flags & kFlagHasPartition) r.partition = static_cast<int32_t>(partition);
  // Each record needs at least its 4-byte length: a count beyond that is a lie.
  if (count > in.remaining() / 4)
    return bad("record count " + std::to_string(count) + " exceeds what the frame holds");
  r.values.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t n = 0;
    std::string_view v;
    if (!in.U32(&n) || !in.Take(n, &v)) return bad("record " + std::to_string(i) + " truncated");
    r.values.push_back(v);
  }
  if (in.remaining() != 0) {
    return bad(std::to_string(in.remaining()) + " bytes after the last record");
  }
  return r;
}

std::string EncodeAck(const TcpAck& a) {
  std::string out(kAckHeaderSize, '\0');
  char* p = out.data();
  coding::EncodeFixed32(p, kAckMagic);
  coding::EncodeFixed16(p + 4, static_cast<uint16_t>(a.status));
  p[6] = a.duplicate ? 1 : 0;
  p[7] = static_cast<char>(std::clamp(a.retry_after_s, 0, 255));
  coding::EncodeFixed32(p + 8, static_cast<uint32_t>(a.partition));
  coding::EncodeFixed64(p + 12, static_cast<uint64_t>(a.base_offset.value()));
  coding::EncodeFixed32(p + 20, a.count);
  const std::string_view msg = std::string_view(a.message).substr(0, 65535);
  coding::EncodeFixed16(p + 24, static_cast<uint16_t>(msg.size()));
  out += msg;
  return out;
}

Result<TcpAck> DecodeAckHeader(std::string_view h, uint16_t* message_length) {
  ONCEFLOW_CHECK(h.size() == kAckHeaderSize) << h.size() << " bytes";  // read past the end
  if (coding::DecodeFixed32(h.data()) != kAckMagic) {
    return Err(Status::Corruption("bad acknowledgement magic"));
  }
  TcpAck a;
  a.status = coding::DecodeFixed16(h.data() + 4);
  a.duplicate = h[6] != 0;
  a.retry_after_s = static_cast<uint8_t>(h[7]);
  a.partition = static_cast<int32_t>(coding::DecodeFixed32(h.data() + 8));
  a.base_offset = Offset(static_cast<int64_t>(coding::DecodeFixed64(h.data() + 12)));
  a.count = coding::DecodeFixed32(h.data() + 20);
  *message_length = coding::DecodeFixed16(h.data() + 24);
  return a;
}

}  // namespace onceflow::receiver
