// Encoding and decoding of the TCP protocol's request frames and acknowledgements
// (layout in tcp_format.h), shared by the server and the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace onceflow::receiver {

// A decoded request frame; the views point into the frame body.
struct TcpRequest {
  std::string_view topic;
  std::string_view token;
  std::string_view producer_id;
  std::optional<int64_t> sequence;
  std::optional<int32_t> partition;
  std::vector<std::string_view> values;
};

struct TcpAck {
  int status = 200;
  bool duplicate = false;
  int retry_after_s = 0;
  int32_t partition = -1;
  Offset base_offset;
  uint32_t count = 0;
  std::string message;
};

// The whole frame, prefix included. invalid_argument, naming the field, for what the format
// cannot carry: a topic, token or producer id over 65535 bytes (u16 lengths), a record, a
// record count or a body over 4 GiB - 1 (u32).
Result<std::string> EncodeRequestFrame(const TcpRequest& request);
// Decodes a frame body (after the prefix and CRC check). invalid_argument names the field.
Result<TcpRequest> DecodeRequestBody(std::string_view body);

std::string EncodeAck(const TcpAck& ack);
// Decodes the fixed header of an ack; *message_length receives the length of the message that
// follows it. REQUIRES: header.size() == kAckHeaderSize (CHECKed).
Result<TcpAck> DecodeAckHeader(std::string_view header, uint16_t* message_length);

}  // namespace onceflow::receiver
