// Test helpers for the `onceflow` command's end-to-end tests: run the built binary with
// fork/exec in a temporary data directory, feed it stdin, capture stdout and stderr.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace onceflow::cli::testing {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or never finished
  std::string out;
  std::string err;
};

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteWholeFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  return lines;
}

// A process running the onceflow binary, with stdin, stdout and stderr redirected to files.
class Process {
 public:
  // Starts `ONCEFLOW_BIN args...`. `env` entries are set in the child ("" value: unset).
  Process(const std::vector<std::string>& args, const std::string& stdin_path,
          const std::string& stdout_path, const std::string& stderr_path,
          const std::map<std::string, std::string>& env = {})
      : stdout_path_(stdout_path), stderr_path_(stderr_path) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(ONCEFLOW_BIN));
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
      ::execv(ONCEFLOW_BIN, argv.data());
      ::_exit(127);
    }
  }

  ~Process() {
    if (pid_ > 0 && !finished_) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }

  pid_t pid() const { return pid_; }
  void Signal(int sig) { ::kill(pid_, sig); }
  std::string out() const { return ReadWholeFile(stdout_path_); }
  std::string err() const { return ReadWholeFile(stderr_path_); }

  // Whether the process has exited, without waiting: nullopt while it runs, else as Wait.
  std::optional<int> Poll() {
    if (finished_) return code_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    finished_ = true;
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return code_;
  }

  // The kill -9 of the crash tests: lets the process run for `delay` (polling every 0.5 ms), then
  // SIGKILLs it unless it ended first. Returns its exit code, or -1 when it was killed.
  int KillAfter(std::chrono::milliseconds delay) {
    const auto kill_at = std::chrono::steady_clock::now() + delay;
    while (!Poll() && std::chrono::steady_clock::now() < kill_at) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    if (!finished_) Signal(SIGKILL);
    return Wait();  // -1: killed; an exit code: it ended just before the signal
  }

  // Waits for the process to exit; returns its exit code, or -1 if a signal killed it or it
  // was still running after `timeout` (then it is killed).
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
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

 private:
  pid_t pid_ = -1;
  bool finished_ = false;
  int code_ = -1;
  std::string stdout_path_, stderr_path_;
};

// A fixture with a fresh temporary directory; the data directory is <tmp>/data.
class CliTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/onceflow_cli_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    data_ = tmp_ + "/data";
  }
  void TearDown() override {
    const std::string cmd = "rm -rf '" + tmp_ + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", tmp_.c_str());
  }

  // A fresh file name in the temporary directory.
  std::string TempPath(std::string_view what) {
    return tmp_ + "/" + std::string(what) + "." + std::to_string(++files_);
  }

  // Runs onceflow to completion with `input` on stdin.
  RunResult Run(const std::vector<std::string>& args, std::string_view input = "",
                const std::map<std::string, std::string>& env = {}) {
    const std::string in = TempPath("stdin");
    WriteWholeFile(in, input);
    Process p(args, in, TempPath("stdout"), TempPath("stderr"), env);
    RunResult r;
    r.exit_code = p.Wait();
    r.out = p.out();
    r.err = p.err();
    return r;
  }

  // Runs onceflow with --data pointing at the test's data directory.
  RunResult RunData(std::vector<std::string> args, std::string_view input = "") {
    args.push_back("--data");
    args.push_back(data_);
    return Run(args, input);
  }

  std::string tmp_;
  std::string data_;
  int files_ = 0;
};

}  // namespace onceflow::cli::testing
