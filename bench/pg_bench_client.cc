// The benchmarks' plain libpq helpers.
#include "pg_bench_client.h"

#include <cstdlib>

#include "fatal.h"

namespace onceflow::bench {

PGconn* Connect(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) Die(std::string("connect: ") + PQerrorMessage(c));
  PGresult* r = PQexec(c, "SET client_min_messages = warning");
  PQclear(r);
  return c;
}

void Sql(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Die(sql + ": " + PQerrorMessage(c));
  }
  PQclear(r);
}

int64_t SqlInt(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
    Die(sql + ": " + PQerrorMessage(c));
  }
  const int64_t v = std::atoll(PQgetvalue(r, 0, 0));
  PQclear(r);
  return v;
}

void CopyRows(PGconn* c, const std::string& table, const std::string& rows) {
  Sql(c, "BEGIN");
  PGresult* r = PQexec(c, ("COPY " + table + " (id, account, amount, ts) FROM STDIN").c_str());
  if (PQresultStatus(r) != PGRES_COPY_IN) Die(std::string("COPY: ") + PQerrorMessage(c));
  PQclear(r);
  if (PQputCopyData(c, rows.data(), static_cast<int>(rows.size())) != 1 ||
      PQputCopyEnd(c, nullptr) != 1) {
    Die(std::string("COPY data: ") + PQerrorMessage(c));
  }
  r = PQgetResult(c);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string("COPY end: ") + PQerrorMessage(c));
  PQclear(r);
  while ((r = PQgetResult(c)) != nullptr) PQclear(r);
  Sql(c, "COMMIT");
}

}  // namespace onceflow::bench
