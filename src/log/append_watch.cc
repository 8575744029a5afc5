// AppendWatch over Linux inotify.
#include "log/append_watch.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace onceflow::log {

AppendWatch::AppendWatch(const std::vector<std::string>& dirs) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return;
  // DURABLE is rewritten in place (IN_MODIFY), created by a rename (IN_MOVED_TO); segments are
  // created (IN_CREATE) and appended to (IN_MODIFY; a writer without DURABLE, durability none).
  constexpr uint32_t kMask = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE;
  for (const std::string& dir : dirs) {
    if (inotify_add_watch(fd_, dir.c_str(), kMask) < 0) {
      // One directory unwatched would leave its appends unseen: poll instead.
      close(fd_);
      fd_ = -1;
      return;
    }
  }
}

AppendWatch::~AppendWatch() {
  if (fd_ >= 0) close(fd_);
}

bool AppendWatch::Wait(std::chrono::milliseconds timeout) {
  if (fd_ < 0) {
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(1)));
    return false;
  }
  pollfd p{fd_, POLLIN, 0};
  const int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(0, timeout.count())));
  if (ready <= 0) return false;
  // Drain every queued event: one look at the partitions answers them all.
  alignas(inotify_event) char buf[4096];
  while (read(fd_, buf, sizeof(buf)) > 0) {
  }
  return true;
}

}  // namespace onceflow::log
