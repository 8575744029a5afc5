// ServeProcess: waits for the "listening on" line, the effect, never a fixed time.
#include "testing/serve_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

namespace onceflow::testing {

ServeProcess::ServeProcess(std::string data, std::string tmp, std::vector<std::string> extra)
    : data_(std::move(data)), tmp_(std::move(tmp)), extra_(std::move(extra)) {}

ServeProcess::Outcome ServeProcess::StartAndWait(const std::map<std::string, std::string>& env) {
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
    // Exited first: the line may still have come before the end (the file is read after).
    const bool exited = proc_->Poll().has_value();
    const std::string err = ReadWholeFile(err_path_);
    const size_t at = err.find("listening on http://127.0.0.1:");
    if (at != std::string::npos) {
      if (port_ == 0) port_ = std::stoi(err.substr(at + 30));
      return Outcome::kListening;
    }
    if (exited) return Outcome::kExited;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Outcome::kTimedOut;
}

bool ServeProcess::Start(const std::map<std::string, std::string>& env) {
  const Outcome outcome = StartAndWait(env);
  if (outcome == Outcome::kListening) return true;
  ADD_FAILURE() << (outcome == Outcome::kExited ? "serve exited instead of listening: "
                                                : "serve did not start listening: ")
                << Describe();
  return false;
}

bool ServeProcess::StartMayExit(const std::map<std::string, std::string>& env) {
  const Outcome outcome = StartAndWait(env);
  if (outcome == Outcome::kTimedOut)
    ADD_FAILURE() << "serve did not start listening: " << Describe();
  return outcome == Outcome::kListening;
}

std::string ServeProcess::Describe() {
  std::string what = "serve (start " + std::to_string(starts_) + ") ";
  const std::optional<int> code = Poll();
  if (!code) {
    what += "running";
  } else if (*code >= 0) {
    what += "exited with status " + std::to_string(*code);
  } else {
    what += "was killed by a signal";
  }
  const std::vector<std::string> lines = SplitLines(err());
  constexpr size_t kTail = 20;
  what += "; the last lines of its stderr (" + err_path_ + "):";
  for (size_t i = lines.size() > kTail ? lines.size() - kTail : 0; i < lines.size(); ++i) {
    what += "\n  " + lines[i];
  }
  return what;
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
