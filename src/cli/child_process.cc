// ChildProcess: fork, exec of /proc/self/exe, waitpid.
#include "cli/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "util/file.h"

namespace onceflow::cli {

namespace {

// This process's environment with `changes` applied (see Start).
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& changes) {
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = name_of(entry);
    bool changed = false;
    for (const std::string& c : changes) changed = changed || name_of(c) == name;
    if (!changed) env.push_back(entry);
  }
  for (const std::string& c : changes) {
    if (c.find('=') != std::string::npos) env.push_back(c);
  }
  return env;
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::vector<std::string>& args,
                                                          const std::string& output_path,
                                                          const std::vector<std::string>& env) {
  static constexpr const char* kSelf = "/proc/self/exe";
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_strings = {"onceflow"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return Err(ErrnoStatus("open", output_path, errno));
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    const int err = errno;
    ::close(out);
    return Err(ErrnoStatus("open", "/dev/null", err));
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(126);
    ::execve(kSelf, argv.data(), envp.data());
    ::_exit(127);
  }
  const int err = errno;
  ::close(in);
  ::close(out);
  if (pid < 0) return Err(ErrnoStatus("fork", kSelf, err));
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid));
}

ChildProcess::~ChildProcess() {
  if (!result_) {
    Kill(SIGKILL);
    Wait();
  }
}

int ChildProcess::Decode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

std::optional<int> ChildProcess::Poll() {
  if (result_) return result_;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) result_ = Decode(status);
  return result_;
}

int ChildProcess::Wait() {
  if (result_) return *result_;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  result_ = r == pid_ ? Decode(status) : -1;
  return *result_;
}

void ChildProcess::Kill(int signo) {
  if (!result_) ::kill(pid_, signo);
}

}  // namespace onceflow::cli
