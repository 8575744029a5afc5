// ChildProcess: this very program (/proc/self/exe) started again with other arguments, its
// output going to a file — how the ledger demo runs `onceflow run` so that it can kill -9 it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "onceflow/status.h"

namespace onceflow::cli {

// Lifecycle: Start forks and execs; Poll or Wait reap the child. A child still running when the
// object is destroyed is SIGKILLed and reaped.
// Thread-safety: one thread.
class ChildProcess {
 public:
  // Runs `/proc/self/exe args...` with stdin from /dev/null and stdout and stderr appended to
  // `output_path`, with default signal dispositions and an empty signal mask. `env`: "NAME=VALUE"
  // entries that replace or add to this process's environment; a "NAME" entry without '='
  // removes NAME (so that, say, an ONCEFLOW_FAULTS of the parent never reaches the child).
  static Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& args,
                                                     const std::string& output_path,
                                                     const std::vector<std::string>& env = {});
  ~ChildProcess();

  // Nullopt while the child runs; then its exit code, or 128 + the signal that ended it.
  std::optional<int> Poll();
  // Blocks until the child ends; returns as Poll.
  int Wait();
  // Sends `signo` (a no-op once the child is reaped).
  void Kill(int signo);

  pid_t pid() const { return pid_; }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  static int Decode(int wait_status);

  pid_t pid_;
  std::optional<int> result_;
};

}  // namespace onceflow::cli
