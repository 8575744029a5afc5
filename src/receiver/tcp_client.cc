// The TCP protocol's client side.
#include "receiver/tcp_client.h"

#include <unistd.h>

#include "receiver/socket_io.h"
#include "receiver/tcp_format.h"

namespace onceflow::receiver {

Result<std::unique_ptr<TcpClient>> TcpClient::Connect(const std::string& host, int port) {
  ONCEFLOW_ASSIGN_OR_RETURN(int fd, ConnectTcp(host, port));
  return std::unique_ptr<TcpClient>(new TcpClient(fd));
}

TcpClient::~TcpClient() { ::close(fd_); }

Result<TcpAck> TcpClient::Send(const TcpRequest& request) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::string frame, EncodeRequestFrame(request));
  return SendRaw(frame);
}

Result<TcpAck> TcpClient::SendRaw(std::string_view bytes) {
  ONCEFLOW_RETURN_IF_ERROR(WriteFull(fd_, bytes));
  char header[kAckHeaderSize];
  ONCEFLOW_ASSIGN_OR_RETURN(bool got, ReadFull(fd_, header, sizeof(header)));
  if (!got) return Err(Status::IoError("the server closed the connection before acknowledging"));
  uint16_t n = 0;
  ONCEFLOW_ASSIGN_OR_RETURN(TcpAck ack,
                            DecodeAckHeader(std::string_view(header, sizeof(header)), &n));
  ack.message.resize(n);
  if (n > 0) {
    ONCEFLOW_ASSIGN_OR_RETURN(bool more, ReadFull(fd_, ack.message.data(), n));
    if (!more) return Err(Status::IoError("connection closed inside an acknowledgement"));
  }
  return ack;
}

}  // namespace onceflow::receiver
