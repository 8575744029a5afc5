// Tests against a real PostgreSQL server: plain SQL through a connection of the test's own, a
// private schema per test on the test run's server (services.h), and a private server for
// tests that restart or stop it.
#pragma once

#include <string>
#include <vector>

#include "testing/services.h"

namespace onceflow::testing {

// Runs `sql` on `conninfo`; returns the rows, columns joined by '|', NULL as "NULL". On an
// error, `*error` gets the message (else the current test fails).
std::vector<std::string> PgQuery(const std::string& conninfo, const std::string& sql,
                                 std::string* error = nullptr);

// A name for a test's schema or database that no other test (or earlier run) uses.
std::string UniqueName(const std::string& prefix);

// `conninfo` whose search_path is `schema` (created if missing): a test's tables, progress
// rows and dead letters live there, apart from every other test.
std::string WithSchema(const std::string& conninfo, const std::string& schema);

// A server of the test's own (scripts/services/postgres.sh), for tests that restart or stop it
// (the shared server must stay up for the tests running beside). Started in a fresh directory
// by the constructor, stopped and removed by the destructor.
class PrivatePostgres {
 public:
  PrivatePostgres();
  ~PrivatePostgres();
  PrivatePostgres(const PrivatePostgres&) = delete;
  PrivatePostgres& operator=(const PrivatePostgres&) = delete;

  const std::string& conninfo() const { return conninfo_; }  // "": it did not start
  bool Stop();
  bool Start();
  bool Restart();
  // Whether the server answers a query.
  bool Running() const;

 private:
  std::string root_, dir_, conninfo_;
};

}  // namespace onceflow::testing
