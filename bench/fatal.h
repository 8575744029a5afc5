// Die: how a benchmark program gives up, naming itself (program_invocation_short_name).
#pragma once

#include <errno.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace onceflow::bench {

[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::exit(1);
}

}  // namespace onceflow::bench
