// Process: fork/exec of the onceflow binary (or a test's child), waitpid polling, SIGKILL.
#include "testing/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#ifndef ONCEFLOW_BIN
#error "ONCEFLOW_BIN must name the onceflow binary of the build"
#endif

namespace onceflow::testing {

const char* OnceflowBinary() { return ONCEFLOW_BIN; }

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteWholeFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  return lines;
}

Process::Process(const std::vector<std::string>& args, const std::string& stdin_path,
                 const std::string& stdout_path, const std::string& stderr_path,
                 const std::map<std::string, std::string>& env)
    : Process(Binary{ONCEFLOW_BIN}, args, stdin_path, stdout_path, stderr_path, env) {}

Process::Process(const Binary& binary, const std::vector<std::string>& args,
                 const std::string& stdin_path, const std::string& stdout_path,
                 const std::string& stderr_path, const std::map<std::string, std::string>& env)
    : stdout_path_(stdout_path), stderr_path_(stderr_path) {
  const char* const bin = binary.path.c_str();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    auto redirect = [](const std::string& path, int flags, int fd) {
      int f = ::open(path.c_str(), flags, 0644);
      if (f < 0 || ::dup2(f, fd) < 0) ::_exit(126);
      ::close(f);
    };
    redirect(stdin_path, O_RDONLY, 0);
    redirect(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 1);
    redirect(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 2);
    ::unsetenv("ONCEFLOW_DATA");  // hermetic unless a test sets it
    for (const auto& [k, v] : env) {
      if (v.empty()) {
        ::unsetenv(k.c_str());
      } else {
        ::setenv(k.c_str(), v.c_str(), 1);
      }
    }
    ::execv(bin, argv.data());
    // Say why in the child's stderr (e.g. ETXTBSY while the binary is being relinked): an exit
    // with nothing written would look like a crash of the binary. Async-signal-safe calls
    // only, after a fork of a threaded test.
    const char* what = ::strerrordesc_np(errno);
    if (what == nullptr) what = "unknown error";
    for (const char* part : {"onceflow test child: cannot exec ", bin, ": ", what, "\n"}) {
      (void)!::write(2, part, std::strlen(part));
    }
    ::_exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && !finished_) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
}

void Process::Signal(int sig) { ::kill(pid_, sig); }

std::optional<int> Process::Poll() {
  if (finished_) return code_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  finished_ = true;
  code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return code_;
}

bool Process::Stopped() const {
  // /proc/PID/stat: "PID (COMM) STATE ...", COMM may contain spaces and parentheses.
  const std::string stat = ReadWholeFile("/proc/" + std::to_string(pid_) + "/stat");
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T';
}

int Process::KillAfter(std::chrono::milliseconds delay) {
  const auto kill_at = std::chrono::steady_clock::now() + delay;
  while (!Poll() && std::chrono::steady_clock::now() < kill_at) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  if (!finished_) Signal(SIGKILL);
  return Wait();  // -1: killed; an exit code: it ended just before the signal
}

int Process::Wait(std::chrono::milliseconds timeout) {
  if (finished_) return code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "onceflow (pid " << pid_ << ") still running after the timeout";
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      finished_ = true;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  finished_ = true;
  code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return code_;
}

}  // namespace onceflow::testing
