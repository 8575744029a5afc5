// A child process running the built `onceflow` binary, for end-to-end and kill -9 tests: stdin,
// stdout and stderr redirected to files, polled, waited for with a deadline, or SIGKILLed at a
// moment of the test's choosing. Plus the small file helpers such tests read their output with.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "testing/hang_guard.h"

namespace onceflow::testing {

// The path of the `onceflow` binary of this build.
const char* OnceflowBinary();

// What a finished run left: its exit code (-1: killed by a signal or never finished), stdout and
// stderr.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The whole file ("" when it cannot be read).
std::string ReadWholeFile(const std::string& path);
// Replaces the file with `data`.
void WriteWholeFile(const std::string& path, std::string_view data);
// The lines of `text`, without their '\n'.
std::vector<std::string> SplitLines(std::string_view text);

// `onceflow args...` as a child. The destructor SIGKILLs and reaps it if it still runs. Not
// thread-safe: one thread owns a Process.
class Process {
 public:
  // Starts `onceflow args...` with stdin from `stdin_path` and stdout, stderr into the given
  // files. `env` entries are set in the child ("" value: unset); ONCEFLOW_DATA is unset unless
  // `env` sets it, so that a test is hermetic.
  Process(const std::vector<std::string>& args, const std::string& stdin_path,
          const std::string& stdout_path, const std::string& stderr_path,
          const std::map<std::string, std::string>& env = {});
  // The same with another binary of the build (a test's own child program) in place of
  // `onceflow`.
  struct Binary {
    std::string path;
  };
  Process(const Binary& binary, const std::vector<std::string>& args, const std::string& stdin_path,
          const std::string& stdout_path, const std::string& stderr_path,
          const std::map<std::string, std::string>& env = {});
  ~Process();

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  std::string out() const { return ReadWholeFile(stdout_path_); }
  std::string err() const { return ReadWholeFile(stderr_path_); }

  // Whether the process has exited, without waiting: nullopt while it runs, else as Wait.
  std::optional<int> Poll();

  // Whether the process is stopped (SIGSTOP, e.g. by the fault action `stop`): its state in
  // /proc. A SIGCONT sent before it has stopped would be lost; wait for this first.
  bool Stopped() const;

  // The kill -9 of the crash tests: lets the process run for `delay` (polling every 0.5 ms), then
  // SIGKILLs it unless it ended first. Returns its exit code, or -1 when it was killed.
  int KillAfter(std::chrono::milliseconds delay);

  // Waits for the process to exit; returns its exit code, or -1 if a signal killed it or it
  // was still running after `timeout` (then it is killed and the test fails).
  int Wait(std::chrono::milliseconds timeout = kHangGuard);

 private:
  pid_t pid_ = -1;
  bool finished_ = false;
  int code_ = -1;
  std::string stdout_path_, stderr_path_;
};

}  // namespace onceflow::testing
