// The framed TCP endpoint: a thread per connection reading frames, ingesting and acking each.
#include "receiver/tcp_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>

#include "receiver/http_server.h"
#include "receiver/socket_io.h"
#include "receiver/tcp_format.h"
#include "receiver/tcp_frame.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::receiver {
namespace {

TcpAck AckOf(const IngestResponse& r) {
  TcpAck a;
  a.status = r.status;
  a.duplicate = r.duplicate;
  a.retry_after_s = r.retry_after_s;
  a.partition = r.partition;
  a.base_offset = r.base_offset;
  a.count = r.count;
  a.message = r.error;
  return a;
}

TcpAck ErrorAck(int status, std::string message) {
  TcpAck a;
  a.status = status;
  a.message = std::move(message);
  return a;
}

void SetTimeout(int fd, int option, int64_t ms) {
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

// Waits until `fd` has bytes (or EOF) to read: true, or false after `timeout_ms`.
bool WaitReadable(int fd, int64_t timeout_ms) {
  while (true) {
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(timeout_ms));
    if (r < 0 && errno == EINTR) continue;
    return r != 0;
  }
}

}  // namespace

Result<std::unique_ptr<TcpServer>> TcpServer::Start(Ingestor* ingestor,
                                                    const TcpServerOptions& options) {
  std::unique_ptr<TcpServer> s(new TcpServer(ingestor, options));
  ONCEFLOW_ASSIGN_OR_RETURN(s->listen_fd_, ListenTcp(options.host, options.port, &s->port_));
  s->accept_thread_ = std::thread([p = s.get()] { p->AcceptLoop(); });
  return s;
}

TcpServer::~TcpServer() { Stop(); }

void TcpServer::AcceptLoop() {
  while (!stopping_.load()) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stopping_.load()) return;
      // EMFILE and the like: back off rather than spin.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    std::lock_guard lock(mu_);
    ReapLocked(false);
    if (stopping_.load() || connections_.size() >= static_cast<size_t>(options_.max_connections)) {
      ingestor_->metrics().OnRejected(RejectReason::kOverloaded);
      TcpAck busy = ErrorAck(
          503, "too many connections (limit " + std::to_string(options_.max_connections) + ")");
      busy.retry_after_s = 1;
      WriteFull(fd, EncodeAck(busy)).IgnoreError();  // the client may be gone already
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    Connection* raw = c.get();
    connections_.push_back(std::move(c));
    raw->thread = std::thread([this, raw] { Serve(raw); });
  }
}

void TcpServer::ReapLocked(bool all) {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (all || (*it)->done.load()) {
      if ((*it)->thread.joinable()) (*it)->thread.join();
      ::close((*it)->fd);
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void TcpServer::Serve(Connection* c) {
  const int fd = c->fd;
  const uint64_t max_body = ingestor_->options().max_request_bytes +
                            4ull * ingestor_->options().max_request_records + kMaxFrameOverhead;
  std::string body;
  SetTimeout(fd, SO_SNDTIMEO, options_.write_timeout_ms);
  bool first = true;
  while (!stopping_.load()) {
    // Idle between frames: no read timeout (Stop's shutdown ends the wait). The first frame
    // must come within first_frame_timeout_ms.
    SetTimeout(fd, SO_RCVTIMEO, 0);
    if (first && !WaitReadable(fd, options_.first_frame_timeout_ms)) {
      ingestor_->metrics().OnRejected(RejectReason::kBadRequest);
      WriteFull(fd, EncodeAck(ErrorAck(408, "no request frame within " +
                                                std::to_string(options_.first_frame_timeout_ms) +
                                                " ms of connecting; closing the connection")))
          .IgnoreError();  // closing anyway
      break;
    }
    first = false;
    if (!WaitReadable(fd, -1)) break;
    // A frame has started: every read of it is bounded, a trickling client is cut off.
    SetTimeout(fd, SO_RCVTIMEO, options_.read_timeout_ms);
    char prefix[kRequestPrefixSize];
    auto got = ReadFull(fd, prefix, sizeof(prefix));
    if (!got.has_value() || !*got) break;  // EOF, reset, timeout, or Stop's shutdown
    const uint32_t magic = coding::DecodeFixed32(prefix);
    const uint32_t length = coding::DecodeFixed32(prefix + 4);
    const uint32_t crc = coding::DecodeFixed32(prefix + 8);
    if (magic != kRequestMagic) {
      ingestor_->metrics().OnRejected(RejectReason::kBadRequest);
      WriteFull(fd, EncodeAck(ErrorAck(400, "bad framing: a frame starts with the magic "
                                            "\"OFR1\"; closing the connection")))
          .IgnoreError();  // closing anyway
      break;
    }
    if (length > max_body) {
      ingestor_->metrics().OnRejected(RejectReason::kTooLarge);
      WriteFull(fd, EncodeAck(ErrorAck(
                        413, "frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                                 std::to_string(max_body) + "; closing the connection")))
          .IgnoreError();  // closing anyway
      break;
    }
    body.resize(length);
    auto full = ReadFull(fd, body.data(), length);
    if (!full.has_value() || !*full) break;  // cut in the middle or timed out: never acknowledged
    if (crc32c::Value(body) != crc) {
      ingestor_->metrics().OnRejected(RejectReason::kBadRequest);
      WriteFull(fd, EncodeAck(ErrorAck(400, "bad framing: CRC mismatch; closing the "
                                            "connection")))
          .IgnoreError();  // closing anyway
      break;
    }
    TcpAck ack;
    auto request = DecodeRequestBody(body);
    if (!request.has_value()) {
      ingestor_->metrics().OnRejected(RejectReason::kBadRequest);
      ack = ErrorAck(400, request.error().message());
    } else if (!options_.token.empty() && !TokenEquals(request->token, options_.token)) {
      ingestor_->metrics().OnRejected(RejectReason::kUnauthorized);
      ack = ErrorAck(401, request->token.empty() ? "missing token" : "invalid token");
    } else {
      IngestRequest in;
      in.topic = request->topic;
      in.producer_id = request->producer_id;
      in.sequence = request->sequence;
      in.partition = request->partition;
      in.values = std::move(request->values);
      ack = AckOf(ingestor_->Ingest(in));
    }
    if (!WriteFull(fd, EncodeAck(ack)).ok()) break;
  }
  // The client sees the end now; the descriptor is closed when the connection is reaped (on
  // the next accept or at Stop), so that its number is not reused while it is listed.
  ::shutdown(fd, SHUT_RDWR);
  c->done.store(true);
}

void TcpServer::Stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  ::close(listen_fd_);
  std::lock_guard lock(mu_);
  // Wake the readers: a connection waiting for its next frame ends; one ingesting a frame
  // finishes it and writes its acknowledgement first (the write side stays open).
  for (auto& c : connections_) ::shutdown(c->fd, SHUT_RD);
  ReapLocked(true);
}

}  // namespace onceflow::receiver
