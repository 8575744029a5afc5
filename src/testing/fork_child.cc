// A function run in a forked child.
#include "testing/fork_child.h"

#include <sys/wait.h>
#include <unistd.h>

namespace onceflow::testing {

int InChild(const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace onceflow::testing
