// The failure path of ONCEFLOW_CHECK: one line on stderr, then abort().
#include "util/check.h"

#include <cstdio>
#include <cstdlib>

namespace onceflow::internal {

CheckFailure::~CheckFailure() {
  const std::string message = message_.str();
  std::fprintf(stderr, "%s:%d: CHECK failed: %s%s%s\n", file_, line_, condition_,
               message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace onceflow::internal
