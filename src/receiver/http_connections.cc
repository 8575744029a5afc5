// HttpConnections: an epoll watcher that accepts connections, reads request heads without
// blocking and hands whole heads to worker pools (http_worker_pool.h), which serve them
// over an HttpConnStream (http_conn_stream.h).
#include "receiver/http_connections.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "receiver/http_conn_stream.h"
#include "receiver/http_worker_pool.h"
#include "receiver/socket_io.h"
#include "util/file.h"

namespace onceflow::receiver {
namespace {

using Clock = HttpConn::Clock;

// How long, and how much, a closing connection is drained. Closing a socket with unread bytes
// resets the connection, and a reset can destroy the answer before the client has read it.
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr size_t kLingerBytes = 1 << 20;

thread_local HttpConn* t_current = nullptr;

// Whether the unconsumed bytes hold a whole request head (ended by an empty line).
bool HeadComplete(const HttpConn& c) {
  std::string_view v(c.buf);
  v.remove_prefix(c.pos);
  return v.find("\r\n\r\n") != std::string_view::npos || v.find("\n\n") != std::string_view::npos;
}

// GET and HEAD carry no body: served by the control workers.
bool IsBodyless(const HttpConn& c) {
  std::string_view v(c.buf);
  v.remove_prefix(c.pos);
  return v.starts_with("GET ") || v.starts_with("HEAD ");
}

// Writes a short canned answer to a connection about to be closed; best effort (the client may
// be gone, and the socket's buffer takes a few hundred bytes without blocking).
void WriteCanned(int fd, int status, const char* reason, const std::string& message) {
  const std::string body = "{\"error\":\"" + message + "\"}\n";
  const std::string response = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                               "\r\nContent-Type: application/json\r\nConnection: close\r\n" +
                               (status == 503 ? "Retry-After: 1\r\n" : "") +
                               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);  // best effort
}

}  // namespace

void CloseConnectionAfterResponse() {
  if (t_current != nullptr) t_current->close = true;
}

struct HttpConnections::Impl {
  HttpConnectionOptions o;
  HttpRequestProcessor processor;
  std::function<void()> on_overload;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;  // a worker handed a connection back
  int stop_fd = -1;  // written once by Stop and never read: readable from then on
  int port = 0;
  std::atomic<bool> stopping{false};
  bool stopped = false;
  std::thread watcher;
  HttpWorkerPool workers, control;

  std::mutex mu;
  std::unordered_map<int, std::unique_ptr<HttpConn>> conns;  // every open connection; guarded by mu
  std::vector<HttpConn*> returned;  // handed back by workers; guarded by mu

  // Watcher state.
  bool accepting = true;
  Clock::time_point accept_paused_until;

  ~Impl() {
    for (int fd : {listen_fd, epoll_fd, wake_fd, stop_fd}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void Watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }
  void Unwatch(int fd) { ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr); }

  // Forgets and closes a connection.
  void Drop(HttpConn* c) {
    std::unique_ptr<HttpConn> owned;
    {
      std::lock_guard lock(mu);
      auto it = conns.find(c->fd);
      if (it == conns.end()) return;
      owned = std::move(it->second);
      conns.erase(it);
    }
    ::close(owned->fd);
  }

  // Closes after a response that may have left request bytes unread (a refused body): the
  // write side is shut down now, the watcher drains and closes (no thread waits for it).
  void CloseLingering(HttpConn* c) {
    ::shutdown(c->fd, SHUT_WR);
    if (stopping.load()) return Drop(c);
    c->closing = true;
    {
      std::lock_guard lock(mu);
      returned.push_back(c);
    }
    ::eventfd_write(wake_fd, 1);
  }

  void Serve(HttpConn* c) {
    t_current = c;
    c->close = false;
    HttpConnStream stream(c, stop_fd, o);
    const bool again = processor(stream);
    t_current = nullptr;
    if (!again || c->close || stopping.load()) {
      if (again || c->close) {
        CloseLingering(c);
      } else {
        Drop(c);
      }
      return;
    }
    c->buf.erase(0, c->pos);
    c->pos = 0;
    {
      std::lock_guard lock(mu);
      returned.push_back(c);
    }
    ::eventfd_write(wake_fd, 1);
  }

  void Dispatch(HttpConn* c) {
    {
      std::lock_guard lock(mu);
      c->busy = true;
    }
    (IsBodyless(*c) ? control : workers).Push(c);
  }

  void Accept(Clock::time_point now) {
    while (true) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop watching the listening socket for a moment rather than
          // spin on it; the connections waiting in its backlog are accepted later.
          Unwatch(listen_fd);
          accepting = false;
          accept_paused_until = now + std::chrono::milliseconds(100);
        }
        return;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      bool full = false;
      {
        std::lock_guard lock(mu);
        if (conns.size() >= static_cast<size_t>(o.max_connections)) {
          full = true;
        } else {
          auto c = std::make_unique<HttpConn>();
          c->fd = fd;
          c->deadline = now + std::chrono::milliseconds(o.head_timeout_ms);
          conns.emplace(fd, std::move(c));
        }
      }
      if (full) {
        if (on_overload) on_overload();
        WriteCanned(fd, 503, "Service Unavailable",
                    "too many connections (limit " + std::to_string(o.max_connections) + ")");
        ::close(fd);
        continue;
      }
      Watch(fd);
    }
  }

  void OnReadable(int fd, Clock::time_point now) {
    HttpConn* c = nullptr;
    {
      std::lock_guard lock(mu);
      auto it = conns.find(fd);
      if (it == conns.end() || it->second->busy) return;
      c = it->second.get();
    }
    if (c->closing) return Drain(c);
    const bool was_empty = c->pos == c->buf.size();
    bool ended = false;  // EOF or reset
    char tmp[16384];
    while (true) {
      const ssize_t r = ::recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
      if (r > 0) {
        c->buf.append(tmp, static_cast<size_t>(r));
        if (c->buf.size() - c->pos > o.max_head_bytes) break;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      ended = true;
      break;
    }
    // A client may send a whole request and then shut its side down: it is still answered.
    if (HeadComplete(*c)) {
      Unwatch(fd);
      Dispatch(c);
    } else if (ended) {
      // Whatever part of a request arrived was never answered.
      Unwatch(fd);
      Drop(c);
    } else if (c->buf.size() - c->pos > o.max_head_bytes) {
      WriteCanned(fd, 431, "Request Header Fields Too Large",
                  "request head larger than " + std::to_string(o.max_head_bytes) + " bytes");
      ::shutdown(fd, SHUT_WR);
      c->closing = true;
      c->buf.clear();
      c->pos = 0;
      c->deadline = now + kLingerTime;
    } else if (was_empty && c->pos < c->buf.size()) {
      c->deadline = now + std::chrono::milliseconds(o.head_timeout_ms);
    }
  }

  // Discards what a closing connection's client still sends; closes it at its EOF or after
  // kLingerBytes.
  void Drain(HttpConn* c) {
    char tmp[16384];
    while (true) {
      const ssize_t r = ::recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
      if (r > 0) {
        c->drained += static_cast<size_t>(r);
        if (c->drained < kLingerBytes) continue;
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      }
      Unwatch(c->fd);
      return Drop(c);
    }
  }

  // A connection back from a worker waits for its next request (or has it already), or is
  // drained before it is closed.
  void Rearm(HttpConn* c, Clock::time_point now) {
    if (c->closing) {
      {
        std::lock_guard lock(mu);
        c->busy = false;
      }
      c->buf.clear();
      c->pos = 0;
      c->deadline = now + kLingerTime;
      return Watch(c->fd);
    }
    if (HeadComplete(*c)) return Dispatch(c);
    {
      std::lock_guard lock(mu);
      c->busy = false;
    }
    c->deadline =
        now + std::chrono::milliseconds(c->buf.empty() ? o.idle_timeout_ms : o.head_timeout_ms);
    Watch(c->fd);
  }

  // Closes the waiting connections whose time is up; resumes accepting after a pause.
  void Expire(Clock::time_point now) {
    std::vector<int> expired;
    {
      std::lock_guard lock(mu);
      for (const auto& [fd, c] : conns) {
        if (!c->busy && c->deadline <= now) expired.push_back(fd);
      }
    }
    for (int fd : expired) {
      Unwatch(fd);
      std::unique_ptr<HttpConn> owned;
      {
        std::lock_guard lock(mu);
        auto it = conns.find(fd);
        if (it == conns.end() || it->second->busy) continue;
        owned = std::move(it->second);
        conns.erase(it);
      }
      ::close(fd);
    }
    if (!accepting && now >= accept_paused_until) {
      accepting = true;
      Watch(listen_fd);
    }
  }

  void WatchLoop() {
    epoll_event events[64];
    Clock::time_point next_expiry = Clock::now();
    while (!stopping.load()) {
      const int n = ::epoll_wait(epoll_fd, events, 64, 100);
      const Clock::time_point now = Clock::now();
      for (int i = 0; i < n && !stopping.load(); ++i) {
        const int fd = events[i].data.fd;
        if (fd == listen_fd) {
          Accept(now);
        } else if (fd == wake_fd) {
          eventfd_t value;
          (void)::eventfd_read(wake_fd, &value);  // only resets the counter
          std::vector<HttpConn*> back;
          {
            std::lock_guard lock(mu);
            back.swap(returned);
          }
          for (HttpConn* c : back) Rearm(c, now);
        } else if (fd != stop_fd) {
          OnReadable(fd, now);
        }
      }
      if (now >= next_expiry) {
        Expire(now);
        next_expiry = now + std::chrono::milliseconds(100);
      }
    }
    // Stopping: no new connection; one waiting for (the rest of) a request has had nothing
    // acknowledged and is closed.
    ::close(listen_fd);
    listen_fd = -1;
    std::vector<std::unique_ptr<HttpConn>> waiting;
    {
      std::lock_guard lock(mu);
      for (auto it = conns.begin(); it != conns.end();) {
        if (!it->second->busy) {
          waiting.push_back(std::move(it->second));
          it = conns.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const auto& c : waiting) ::close(c->fd);
  }
};

HttpConnections::HttpConnections(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpConnections>> HttpConnections::Start(
    const std::string& host, int port, const HttpConnectionOptions& options,
    HttpRequestProcessor processor, std::function<void()> on_overload) {
  auto impl = std::make_unique<Impl>();
  impl->o = options;
  impl->processor = std::move(processor);
  impl->on_overload = std::move(on_overload);
  ONCEFLOW_ASSIGN_OR_RETURN(impl->listen_fd, ListenTcp(host, port, &impl->port));
  ::fcntl(impl->listen_fd, F_SETFL, ::fcntl(impl->listen_fd, F_GETFL) | O_NONBLOCK);
  impl->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  impl->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->epoll_fd < 0 || impl->wake_fd < 0 || impl->stop_fd < 0) {
    return Err(ErrnoStatus("epoll/eventfd for", "the HTTP server", errno));
  }
  Impl* s = impl.get();
  s->Watch(s->listen_fd);
  s->Watch(s->wake_fd);
  s->Watch(s->stop_fd);
  s->workers.Start(std::max(1, options.workers), [s](HttpConn* c) { s->Serve(c); });
  s->control.Start(std::max(1, options.control_workers), [s](HttpConn* c) { s->Serve(c); });
  s->watcher = std::thread([s] { s->WatchLoop(); });
  return std::unique_ptr<HttpConnections>(new HttpConnections(std::move(impl)));
}

HttpConnections::~HttpConnections() { Stop(); }

void HttpConnections::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping.store(true);
  // Wakes the watcher and every read waiting for a body; the counter is never reset.
  ::eventfd_write(impl_->stop_fd, 1);
  if (impl_->watcher.joinable()) impl_->watcher.join();
  // The requests with a whole head are processed (a body still arriving is cut off: its read
  // fails at once) and answered; then the threads end.
  impl_->control.Shutdown();
  impl_->workers.Shutdown();
  std::lock_guard lock(impl_->mu);
  for (auto& [fd, c] : impl_->conns) ::close(fd);
  impl_->conns.clear();
}

bool HttpConnections::stopping() const { return impl_->stopping.load(); }

int HttpConnections::port() const { return impl_->port; }

}  // namespace onceflow::receiver