// ServeProcess: `onceflow serve` as a child of a test, which can be SIGKILLed and restarted on
// the same port (the receiver's end-to-end and kill -9 tests).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "testing/process.h"

namespace onceflow::testing {

// `onceflow serve --data DATA --http 127.0.0.1:PORT` as a child; Start() waits until it listens.
class ServeProcess {
 public:
  ServeProcess(std::string data, std::string tmp, std::vector<std::string> extra = {});

  // Starts the server (on the port of the first start after the first) and waits until it
  // listens. Returns false, and fails the test with Describe(), if it exited instead or did not
  // listen within kHangGuard. `env` entries go to the child (ONCEFLOW_FAULTS...).
  bool Start(const std::map<std::string, std::string>& env = {});
  // Start for a server armed to crash (or lose power): it serves before it prints its line, so
  // an armed fault may end it before the line. Returns true once it listens, false if it exited
  // first (not a failure: Poll() then has its exit code; the caller checks that it was the
  // fault); fails the test only if it does neither within kHangGuard.
  bool StartMayExit(const std::map<std::string, std::string>& env);
  std::optional<int> Poll() { return proc_ ? proc_->Poll() : std::optional<int>(0); }
  void Kill();
  // SIGTERM; returns the exit code (-1, and a test failure, if it still runs after `timeout`).
  int Stop(std::chrono::milliseconds timeout = kHangGuard);
  std::string err() const { return ReadWholeFile(err_path_); }
  // For a failure message: "serve (start N) running" or "... exited with status S" / "... was
  // killed by a signal", and the last lines of its stderr.
  std::string Describe();
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string data_, tmp_;
  std::vector<std::string> extra_;
  std::unique_ptr<Process> proc_;
  enum class Outcome { kListening, kExited, kTimedOut };
  Outcome StartAndWait(const std::map<std::string, std::string>& env);

  std::string err_path_;
  int port_ = 0;
  int starts_ = 0;
};

}  // namespace onceflow::testing
