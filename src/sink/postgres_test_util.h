// Helpers for tests against a real PostgreSQL server: the server of the test run
// (ONCEFLOW_TEST_POSTGRES, started by scripts/test.sh), a private schema per test, plain SQL
// through a connection of the test's own, and a private server for tests that restart it.
// A test that needs PostgreSQL fails when ONCEFLOW_REQUIRE_SERVICES=1 and the server is
// missing; it skips only when neither variable is set (a developer's quick local run).
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "util/file.h"

#ifndef ONCEFLOW_SOURCE_DIR
#error "ONCEFLOW_SOURCE_DIR must name the source tree (for scripts/services/postgres.sh)"
#endif

namespace onceflow::testing {

// The conninfo of the test run's server, or "" (then the caller skips or fails).
inline std::string TestPostgres() {
  const char* c = std::getenv("ONCEFLOW_TEST_POSTGRES");
  return c != nullptr ? c : "";
}

inline bool ServicesRequired() {
  const char* r = std::getenv("ONCEFLOW_REQUIRE_SERVICES");
  return r != nullptr && std::string(r) == "1";
}

// In a test body or SetUp: skips (quick local run) or fails (make test) without a server.
#define ONCEFLOW_REQUIRE_POSTGRES()                                                      \
  do {                                                                                   \
    if (::onceflow::testing::TestPostgres().empty()) {                                   \
      if (::onceflow::testing::ServicesRequired()) {                                     \
        FAIL() << "ONCEFLOW_REQUIRE_SERVICES=1 but ONCEFLOW_TEST_POSTGRES is not set "   \
                  "(scripts/test.sh starts the server)";                                 \
      }                                                                                  \
      GTEST_SKIP() << "no PostgreSQL: set ONCEFLOW_TEST_POSTGRES "                       \
                      "(scripts/services/postgres.sh start DIR prints it)";              \
    }                                                                                    \
  } while (0)

// Runs `sql` on `conninfo`; returns the rows, columns joined by '|', NULL as "NULL". On an
// error, `*error` gets the message (else the test fails).
inline std::vector<std::string> PgQuery(const std::string& conninfo, const std::string& sql,
                                        std::string* error = nullptr) {
  std::vector<std::string> out;
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = PQerrorMessage(c);
    PQfinish(c);
    if (error != nullptr) {
      *error = m;
    } else {
      ADD_FAILURE() << "cannot connect: " << m;
    }
    return out;
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_TUPLES_OK) {
    for (int i = 0; i < PQntuples(r); ++i) {
      std::string row;
      for (int j = 0; j < PQnfields(r); ++j) {
        if (j > 0) row += '|';
        row += PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j);
      }
      out.push_back(std::move(row));
    }
  } else if (st != PGRES_COMMAND_OK) {
    if (error != nullptr) {
      *error = PQresultErrorMessage(r);
    } else {
      ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
    }
  }
  PQclear(r);
  PQfinish(c);
  return out;
}

// A unique name for a test's schema or database.
inline std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(rd() % 100000);
}

// `conninfo` whose search_path is `schema` (created if missing): a test's tables, progress
// rows and dead letters live there, apart from every other test.
inline std::string WithSchema(const std::string& conninfo, const std::string& schema) {
  PgQuery(conninfo, "CREATE SCHEMA IF NOT EXISTS " + schema);
  return conninfo + " options='-csearch_path=" + schema + "'";
}

// Runs scripts/services/postgres.sh; returns its stdout (trimmed) or "" after a failure.
inline std::string PostgresScript(const std::string& args) {
  const std::string cmd =
      std::string("bash ") + ONCEFLOW_SOURCE_DIR + "/scripts/services/postgres.sh " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  const int rc = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return rc == 0 ? out : "";
}

// A server of the test's own, for tests that restart or stop it (the shared server must stay
// up for the tests running beside). Started in a fresh directory, stopped and removed at the
// end of the scope.
class PrivatePostgres {
 public:
  PrivatePostgres() {
    char tmpl[] = "/tmp/onceflow-pgtest-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return;
    root_ = tmpl;
    ::chmod(root_.c_str(), 0755);  // the server runs as `onceflow` when tests run as root
    dir_ = root_ + "/data";
    conninfo_ = PostgresScript("start " + dir_);
  }
  ~PrivatePostgres() {
    if (!root_.empty()) {
      PostgresScript("stop " + dir_);
      RemoveAll(root_).IgnoreError();  // best effort
    }
  }
  PrivatePostgres(const PrivatePostgres&) = delete;
  PrivatePostgres& operator=(const PrivatePostgres&) = delete;

  const std::string& conninfo() const { return conninfo_; }  // "": it did not start
  bool Stop() { return PostgresScript("stop " + dir_).empty() && !Running(); }
  bool Start() { return !PostgresScript("start " + dir_).empty(); }
  bool Restart() { return !PostgresScript("restart " + dir_).empty(); }
  bool Running() const { return PgIsReady(); }

 private:
  bool PgIsReady() const {
    std::string error;
    PgQuery(conninfo_, "SELECT 1", &error);
    return error.empty();
  }

  std::string root_, dir_, conninfo_;
};

}  // namespace onceflow::testing
