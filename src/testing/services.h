// The external services a test may need — a Kafka broker and a PostgreSQL server — and what a
// test does without them: skip on a developer's quick run, fail under `make test`.
//
// scripts/test.sh starts both (scripts/services/) and exports ONCEFLOW_TEST_KAFKA (a bootstrap
// address), ONCEFLOW_TEST_POSTGRES (a libpq conninfo) and ONCEFLOW_REQUIRE_SERVICES=1.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace onceflow::testing {

// ONCEFLOW_TEST_KAFKA, or "" when unset.
std::string TestKafka();

// ONCEFLOW_TEST_POSTGRES, or "" when unset.
std::string TestPostgres();

// Whether ONCEFLOW_REQUIRE_SERVICES=1: a missing service is then a failure, not a skip.
bool ServicesRequired();

}  // namespace onceflow::testing

// Declares `const std::string var` = the test broker's bootstrap address. Without one the test
// is skipped, or fails when ONCEFLOW_REQUIRE_SERVICES=1. In a test body or a SetUp.
#define ONCEFLOW_KAFKA_OR_SKIP(var)                                                         \
  const std::string var = ::onceflow::testing::TestKafka();                                 \
  if (var.empty()) {                                                                        \
    if (::onceflow::testing::ServicesRequired()) {                                          \
      FAIL() << "ONCEFLOW_REQUIRE_SERVICES=1 but ONCEFLOW_TEST_KAFKA is not set";           \
    }                                                                                       \
    GTEST_SKIP() << "no Kafka broker: set ONCEFLOW_TEST_KAFKA (scripts/services/kafka.sh)"; \
  }

// In a test body or SetUp: skips (quick local run) or fails (make test) without a server.
#define ONCEFLOW_REQUIRE_POSTGRES()                                                    \
  do {                                                                                 \
    if (::onceflow::testing::TestPostgres().empty()) {                                 \
      if (::onceflow::testing::ServicesRequired()) {                                   \
        FAIL() << "ONCEFLOW_REQUIRE_SERVICES=1 but ONCEFLOW_TEST_POSTGRES is not set " \
                  "(scripts/test.sh starts the server)";                               \
      }                                                                                \
      GTEST_SKIP() << "no PostgreSQL: set ONCEFLOW_TEST_POSTGRES "                     \
                      "(scripts/services/postgres.sh start DIR prints it)";            \
    }                                                                                  \
  } while (0)
