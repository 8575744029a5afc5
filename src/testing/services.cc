// The services check: three environment variables.
#include "testing/services.h"

#include <cstdlib>

namespace onceflow::testing {

namespace {
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}
}  // namespace

std::string TestKafka() { return Env("ONCEFLOW_TEST_KAFKA"); }

std::string TestPostgres() { return Env("ONCEFLOW_TEST_POSTGRES"); }

bool ServicesRequired() { return Env("ONCEFLOW_REQUIRE_SERVICES") == "1"; }

}  // namespace onceflow::testing
