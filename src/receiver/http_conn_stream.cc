// HttpConnStream: reads and writes of one HTTP connection, with timeouts and the stop
// descriptor polled beside the socket.
#include "receiver/http_conn_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace onceflow::receiver {
namespace {

using Clock = HttpConn::Clock;

int MsUntil(Clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1 << 30));
}

void IpAndPort(const sockaddr_storage& addr, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    port = ntohs(a->sin6_port);
  }
  ip = text;
}

}  // namespace

int WaitFor(int fd, short events, int stop_fd, int timeout_ms) {
  const Clock::time_point until = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    pollfd p[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int r = ::poll(p, stop_fd >= 0 ? 2 : 1, MsUntil(until));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) return 0;
    if (stop_fd >= 0 && (p[1].revents & POLLIN)) return -1;
    return 1;
  }
}

bool HttpConnStream::is_readable() const {
  return c_->pos < c_->buf.size() ||
         WaitFor(c_->fd, POLLIN, stop_fd_, static_cast<int>(o_.read_timeout_ms)) == 1;
}

bool HttpConnStream::is_writable() const {
  return WaitFor(c_->fd, POLLOUT, -1, static_cast<int>(o_.write_timeout_ms)) == 1;
}

ssize_t HttpConnStream::read(char* ptr, size_t size) {
  if (c_->pos == c_->buf.size()) {
    c_->buf.clear();
    c_->pos = 0;
    const ssize_t got = Fill();
    if (got <= 0) return got;
  }
  const size_t n = std::min(size, c_->buf.size() - c_->pos);
  std::memcpy(ptr, c_->buf.data() + c_->pos, n);
  c_->pos += n;
  return static_cast<ssize_t>(n);
}

ssize_t HttpConnStream::write(const char* ptr, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t w = ::send(c_->fd, ptr + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      done += static_cast<size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (WaitFor(c_->fd, POLLOUT, -1, static_cast<int>(o_.write_timeout_ms)) != 1) return -1;
    } else {
      return -1;
    }
  }
  return static_cast<ssize_t>(size);
}

void HttpConnStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(c_->fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    IpAndPort(addr, ip, port);
  }
}

void HttpConnStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(c_->fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    IpAndPort(addr, ip, port);
  }
}

socket_t HttpConnStream::socket() const { return c_->fd < FD_SETSIZE ? c_->fd : 0; }

ssize_t HttpConnStream::Fill() {
  char tmp[16384];
  while (true) {
    const ssize_t r = ::recv(c_->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
    if (r > 0) {
      c_->buf.append(tmp, static_cast<size_t>(r));
      return r;
    }
    if (r == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (WaitFor(c_->fd, POLLIN, stop_fd_, static_cast<int>(o_.read_timeout_ms)) != 1) {
      return -1;
    }
  }
}

}  // namespace onceflow::receiver
