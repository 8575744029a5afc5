// Socket helpers over POSIX.
#include "receiver/socket_io.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/file.h"

namespace onceflow::receiver {
namespace {

Result<sockaddr_in> Resolve(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const std::string h = host == "localhost" ? "127.0.0.1" : host;
  if (::inet_pton(AF_INET, h.c_str(), &addr.sin_addr) != 1) {
    return Err(Status::InvalidArgument("'" + host + "' is not an IPv4 address"));
  }
  return addr;
}

}  // namespace

Result<int> ListenTcp(const std::string& host, int port, int* bound_port) {
  ONCEFLOW_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(host, port));
  const std::string where = host + ":" + std::to_string(port);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(ErrnoStatus("socket for", where, errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 1024) != 0) {
    Status s = ErrnoStatus("bind/listen TCP", where, errno);
    ::close(fd);
    return Err(s);
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

Result<int> ConnectTcp(const std::string& host, int port) {
  ONCEFLOW_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(host, port));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(ErrnoStatus("socket for", host, errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status s = ErrnoStatus("connect to", host + ":" + std::to_string(port), errno);
    ::close(fd);
    return Err(s);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

Result<bool> ReadFull(int fd, char* dst, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, dst + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Err(ErrnoStatus("recv", "socket", errno));
    }
    if (r == 0) {
      if (got == 0) return false;
      return Err(Status::IoError("connection closed in the middle of a frame"));
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

Status WriteFull(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("send", "socket", errno);
    }
    data.remove_prefix(static_cast<size_t>(w));
  }
  return Status::Ok();
}

}  // namespace onceflow::receiver
