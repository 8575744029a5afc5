// PgQuery, UniqueName, WithSchema and PrivatePostgres over libpq and scripts/services/postgres.sh.
#include "testing/postgres.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <random>

#include "testing/service_script.h"
#include "util/file.h"

namespace onceflow::testing {

std::vector<std::string> PgQuery(const std::string& conninfo, const std::string& sql,
                                 std::string* error) {
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
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
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

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(rd() % 100000);
}

std::string WithSchema(const std::string& conninfo, const std::string& schema) {
  PgQuery(conninfo, "CREATE SCHEMA IF NOT EXISTS " + schema);
  return conninfo + " options='-csearch_path=" + schema + "'";
}

PrivatePostgres::PrivatePostgres() {
  char tmpl[] = "/tmp/onceflow-pgtest-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return;
  root_ = tmpl;
  ::chmod(root_.c_str(), 0755);  // the server runs as `onceflow` when tests run as root
  dir_ = root_ + "/data";
  conninfo_ = RunServiceScript("postgres.sh", "start " + dir_);
}

PrivatePostgres::~PrivatePostgres() {
  if (root_.empty()) return;
  RunServiceScript("postgres.sh", "stop " + dir_);
  RemoveAll(root_).IgnoreError();  // best effort
}

bool PrivatePostgres::Stop() {
  return RunServiceScript("postgres.sh", "stop " + dir_).empty() && !Running();
}

bool PrivatePostgres::Start() { return !RunServiceScript("postgres.sh", "start " + dir_).empty(); }

bool PrivatePostgres::Restart() {
  return !RunServiceScript("postgres.sh", "restart " + dir_).empty();
}

bool PrivatePostgres::Running() const {
  std::string error;
  PgQuery(conninfo_, "SELECT 1", &error);
  return error.empty();
}

}  // namespace onceflow::testing
