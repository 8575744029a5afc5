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

  // Starts the server (on the port of the first start after the first); returns false if it
  // exited instead of listening. `env` entries go to the child (ONCEFLOW_FAULTS...).
  bool Start(const std::map<std::string, std::string>& env = {});
  std::optional<int> Poll() { return proc_ ? proc_->Poll() : std::optional<int>(0); }
  void Kill();
  // SIGTERM; returns the exit code (-1, and a test failure, if it still runs after `timeout`).
  int Stop(std::chrono::milliseconds timeout = kHangGuard);
  std::string err() const { return ReadWholeFile(err_path_); }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string data_, tmp_;
  std::vector<std::string> extra_;
  std::unique_ptr<Process> proc_;
  std::string err_path_;
  int port_ = 0;
  int starts_ = 0;
};

}  // namespace onceflow::testing
