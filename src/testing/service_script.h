// Runs the service scripts of the checkout (scripts/services/postgres.sh, kafka.sh) from a test.
#pragma once

#include <string>

namespace onceflow::testing {

// `bash <checkout>/scripts/services/<script> <args>`; returns its stdout with trailing newlines
// and spaces removed, or "" when it failed.
std::string RunServiceScript(const std::string& script, const std::string& args);

}  // namespace onceflow::testing
