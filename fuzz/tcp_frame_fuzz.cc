// libFuzzer target for the receiver's TCP protocol (docs/formats/receiver_tcp.md): request
// frames as the server reads them off a connection (prefix, CRC, DecodeRequestBody) and
// acknowledgements as the client reads them (DecodeAckHeader). Built and run by scripts/fuzz.sh.
//
// Input: one mode byte, then the rest.
//   mode % 4 == 0: the rest is what a client sent: frames read one after the other as
//     TcpServer::Serve reads them (magic, length limit, CRC, body). A decoded request's views
//     lie inside its body, and the request re-encodes (EncodeRequestFrame) to a frame that
//     decodes to the same request — byte for byte the same body when the flags are canonical.
//   mode % 4 == 1: as 0, but each frame's length and CRC are repaired first, so that the
//     fuzzer reaches the body decoder.
//   mode % 4 == 2: the rest is what a server sent: acknowledgements, which must re-encode
//     (EncodeAck) to the same acknowledgement.
//   mode % 4 == 3: the rest drives a generator of requests (any topic, token, producer id,
//     sequence, partition, records; some fields longer than their u16 length can say), which
//     must encode to a valid frame that decodes back equal, or be refused by the encoder.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "receiver/tcp_format.h"
#include "receiver/tcp_frame.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::receiver {
namespace {

// TcpServer's limit with the default IngestOptions (16 MiB of records, 100000 records).
constexpr uint64_t kMaxBody = (16u << 20) + 4ull * 100000 + kMaxFrameOverhead;

bool Inside(std::string_view view, std::string_view body) {
  return view.empty() ||
         (view.data() >= body.data() && view.data() + view.size() <= body.data() + body.size());
}

bool SameRequest(const TcpRequest& a, const TcpRequest& b) {
  return a.topic == b.topic && a.token == b.token && a.producer_id == b.producer_id &&
         a.sequence == b.sequence && a.partition == b.partition && a.values == b.values;
}

// REQUIRES: `r` came from DecodeRequestBody(body).
void CheckDecoded(const TcpRequest& r, std::string_view body) {
  FUZZ_CHECK(Inside(r.topic, body) && Inside(r.token, body) && Inside(r.producer_id, body));
  for (std::string_view v : r.values) {
    FUZZ_CHECK(Inside(v, body));
    fuzz::Touch(v);
  }
  fuzz::Touch(r.topic);
  fuzz::Touch(r.token);
  fuzz::Touch(r.producer_id);

  auto frame = EncodeRequestFrame(r);
  FUZZ_CHECK(frame.has_value());
  FUZZ_CHECK(frame->size() == kRequestPrefixSize + body.size());
  const std::string_view again = std::string_view(*frame).substr(kRequestPrefixSize);
  FUZZ_CHECK(coding::DecodeFixed32(frame->data()) == kRequestMagic);
  FUZZ_CHECK(coding::DecodeFixed32(frame->data() + 4) == again.size());
  FUZZ_CHECK(coding::DecodeFixed32(frame->data() + 8) == crc32c::Value(again));
  auto back = DecodeRequestBody(again);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(SameRequest(*back, r));
  // The body differs only where the decoder ignores bytes: the sequence and partition fields
  // of a frame whose flags say they are absent.
  const auto flags = static_cast<uint8_t>(body[1]);
  const size_t fixed = 2 + 6 + r.topic.size() + r.token.size() + r.producer_id.size();
  std::string expected(body);
  if (!(flags & kFlagHasSequence)) std::fill_n(expected.begin() + fixed, 8, '\0');
  if (!(flags & kFlagHasPartition)) std::fill_n(expected.begin() + fixed + 8, 4, '\0');
  FUZZ_CHECK(again == expected);
}

void FuzzStream(std::string_view in, bool repair) {
  std::string owned(in);
  size_t pos = 0;
  while (owned.size() - pos >= kRequestPrefixSize) {
    char* prefix = owned.data() + pos;
    if (repair) {
      // The frame's length: what its first byte says, at most what is left.
      const size_t left = owned.size() - pos - kRequestPrefixSize;
      const size_t length = std::min<size_t>(left, static_cast<uint8_t>(prefix[4]) * 16 + 23);
      coding::EncodeFixed32(prefix, kRequestMagic);
      coding::EncodeFixed32(prefix + 4, static_cast<uint32_t>(length));
      coding::EncodeFixed32(prefix + 8, crc32c::Value(prefix + kRequestPrefixSize, length));
    }
    const uint32_t magic = coding::DecodeFixed32(prefix);
    const uint32_t length = coding::DecodeFixed32(prefix + 4);
    const uint32_t crc = coding::DecodeFixed32(prefix + 8);
    pos += kRequestPrefixSize;
    if (magic != kRequestMagic || length > kMaxBody) return;  // the server answers and closes
    if (owned.size() - pos < length) return;                  // cut short: never acknowledged
    const std::string_view body(owned.data() + pos, length);
    pos += length;
    if (crc32c::Value(body) != crc) return;
    auto request = DecodeRequestBody(body);
    if (request.has_value()) {
      CheckDecoded(*request, body);
    } else {
      FUZZ_CHECK(request.error().IsInvalidArgument());
      FUZZ_CHECK(request.error().message().starts_with("bad frame: "));
    }
  }
}

void FuzzAcks(std::string_view in) {
  while (in.size() >= kAckHeaderSize) {
    uint16_t n = 0;
    auto ack = DecodeAckHeader(in.substr(0, kAckHeaderSize), &n);
    if (!ack.has_value()) {
      FUZZ_CHECK(ack.error().IsCorruption());
      return;
    }
    in.remove_prefix(kAckHeaderSize);
    if (in.size() < n) return;
    ack->message = std::string(in.substr(0, n));
    in.remove_prefix(n);
    const std::string bytes = EncodeAck(*ack);
    uint16_t m = 0;
    auto back = DecodeAckHeader(std::string_view(bytes).substr(0, kAckHeaderSize), &m);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(m == n && bytes.size() == kAckHeaderSize + n);
    back->message = bytes.substr(kAckHeaderSize);
    FUZZ_CHECK(back->status == ack->status && back->duplicate == ack->duplicate &&
               back->retry_after_s == ack->retry_after_s && back->partition == ack->partition &&
               back->base_offset == ack->base_offset && back->count == ack->count &&
               back->message == ack->message);
  }
}

void FuzzGenerated(FuzzedDataProvider& in) {
  // Strings the request's views point into; some longer than a u16 length can say.
  std::vector<std::string> storage;
  auto field = [&](size_t max) -> std::string_view {
    std::string s = in.ConsumeRandomLengthString(max);
    if (in.ConsumeIntegralInRange<int>(0, 63) == 63) s.resize(65535 + s.size() % 3, 'x');
    storage.push_back(std::move(s));
    return storage.back();
  };
  storage.reserve(64);
  TcpRequest r;
  r.topic = field(64);
  r.token = field(64);
  r.producer_id = field(64);
  if (in.ConsumeBool()) r.sequence = in.ConsumeIntegral<int64_t>();
  if (in.ConsumeBool()) r.partition = in.ConsumeIntegral<int32_t>();
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, 32);
  for (size_t i = 0; i < n && storage.size() < storage.capacity(); ++i) {
    storage.push_back(in.ConsumeRandomLengthString(256));
    r.values.push_back(storage.back());
  }
  auto frame = EncodeRequestFrame(r);
  if (!frame.has_value()) {
    // Refused only for what the format cannot carry.
    FUZZ_CHECK(r.topic.size() > 65535 || r.token.size() > 65535 || r.producer_id.size() > 65535);
    FUZZ_CHECK(frame.error().IsInvalidArgument());
    return;
  }
  FUZZ_CHECK(coding::DecodeFixed32(frame->data()) == kRequestMagic);
  const std::string_view body = std::string_view(*frame).substr(kRequestPrefixSize);
  FUZZ_CHECK(coding::DecodeFixed32(frame->data() + 4) == body.size());
  FUZZ_CHECK(coding::DecodeFixed32(frame->data() + 8) == crc32c::Value(body));
  auto back = DecodeRequestBody(body);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(SameRequest(*back, r));
}

}  // namespace
}  // namespace onceflow::receiver

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  FuzzedDataProvider in(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: onceflow::receiver::FuzzStream(rest, false); break;
    case 1: onceflow::receiver::FuzzStream(rest, true); break;
    case 2: onceflow::receiver::FuzzAcks(rest); break;
    default: onceflow::receiver::FuzzGenerated(in); break;
  }
  return 0;
}
