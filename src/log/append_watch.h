// AppendWatch: wakes a reader of the embedded log when a partition may have new durable records,
// without polling: inotify on the partition directories, where a writer in any process
// publishes each group commit's durable end (a write to `DURABLE`) and creates its segments.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace onceflow::log {

// A hint, never the truth: a wake-up says "look again" (the caller reads the partitions' ends),
// and a missed one costs at most the caller's timeout. Events that arrive between two Waits are
// kept by the kernel, so a change after the caller looked and before it waits still wakes it.
//
// Lifecycle: watches from construction to destruction. Thread-safety: Wait may be called from
// several threads at once (the kernel's queue is shared: a change wakes at least one). Where
// inotify is unavailable (no such syscall, the per-user watch limit reached), active() is false
// and Wait sleeps a short pause (1 ms), so the caller polls.
class AppendWatch {
 public:
  explicit AppendWatch(const std::vector<std::string>& dirs);
  ~AppendWatch();

  // Blocks until a file in one of the directories was written, created or renamed into it
  // since the previous Wait (or the construction), or `timeout` passes. Returns true when woken
  // by such a change. Consumes the changes it reports.
  bool Wait(std::chrono::milliseconds timeout);

  // True if the kernel watches the directories (Wait sleeps until a change).
  bool active() const { return fd_ >= 0; }

  AppendWatch(const AppendWatch&) = delete;
  AppendWatch& operator=(const AppendWatch&) = delete;

 private:
  int fd_ = -1;  // the inotify instance (non-blocking reads); -1: none (polling)
};

}  // namespace onceflow::log
