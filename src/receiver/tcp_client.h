// TcpClient: a blocking client of the receiver's TCP protocol: one frame, one acknowledgement.
// For tests, the benchmark and applications that want the framed protocol.
#pragma once

#include <memory>
#include <string>

#include "onceflow/status.h"
#include "receiver/tcp_frame.h"

namespace onceflow::receiver {

// Thread-safety: one thread per client. Not retrying: a transport error is returned and the
// caller reconnects and resends the same frame (same producer id and sequence).
class TcpClient {
 public:
  static Result<std::unique_ptr<TcpClient>> Connect(const std::string& host, int port);
  ~TcpClient();

  // Sends `request` and waits for its acknowledgement (any status: the caller looks at it).
  // An io_error means the outcome is unknown: resend after reconnecting.
  Result<TcpAck> Send(const TcpRequest& request);
  // Sends raw bytes (tests of bad framing) and reads one acknowledgement.
  Result<TcpAck> SendRaw(std::string_view bytes);

  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

 private:
  explicit TcpClient(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace onceflow::receiver
