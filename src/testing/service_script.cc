// RunServiceScript: popen of the script, its path from the build (ONCEFLOW_SOURCE_DIR).
#include "testing/service_script.h"

#include <cstdio>

#ifndef ONCEFLOW_SOURCE_DIR
#error "ONCEFLOW_SOURCE_DIR must name the source tree (for scripts/services/)"
#endif

namespace onceflow::testing {

std::string RunServiceScript(const std::string& script, const std::string& args) {
  const std::string cmd =
      "bash '" + std::string(ONCEFLOW_SOURCE_DIR) + "/scripts/services/" + script + "' " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  const int rc = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return rc == 0 ? out : "";
}

}  // namespace onceflow::testing
