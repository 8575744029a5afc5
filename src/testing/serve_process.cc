// ServeProcess: waits for the "listening on" line, the effect, never a fixed time.
#include "testing/serve_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

namespace onceflow::testing {

ServeProcess::ServeProcess(std::string data, std::string tmp, std::vector<std::string> extra)
    : data_(std::move(data)), tmp_(std::move(tmp)), extra_(std::move(extra)) {}

bool ServeProcess::Start(const std::map<std::string, std::string>& env) {
  std::vector<std::string> args = {"serve",
                                   "--data",
                                   data_,
                                   "--http",
                                   "127.0.0.1:" + std::to_string(port_),
                                   "--snapshot-interval-s",
                                   "1"};
  args.insert(args.end(), extra_.begin(), extra_.end());
  err_path_ = tmp_ + "/serve.err." + std::to_string(++starts_);
  proc_ = std::make_unique<Process>(args, "/dev/null", tmp_ + "/serve.out", err_path_, env);
  const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string err = ReadWholeFile(err_path_);
    const size_t at = err.find("listening on http://127.0.0.1:");
    if (at != std::string::npos) {
      if (port_ == 0) port_ = std::stoi(err.substr(at + 30));
      return true;
    }
    if (proc_->Poll()) {
      ADD_FAILURE() << "serve exited: " << err;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "serve did not start listening";
  return false;
}

void ServeProcess::Kill() {
  proc_->Signal(SIGKILL);
  proc_->Wait();
}

int ServeProcess::Stop(std::chrono::milliseconds timeout) {
  proc_->Signal(SIGTERM);
  return proc_->Wait(timeout);
}

}  // namespace onceflow::testing
