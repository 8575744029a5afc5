// Plain libpq for the benchmarks' hand-written contrasts (the ceilings, the naive consumer):
// connect, run a statement, read one integer, COPY rows in a transaction. Every error ends the
// program (Die), naming the statement.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>

namespace onceflow::bench {

// A connection to `conninfo` with client_min_messages = warning; the caller PQfinish()es it.
PGconn* Connect(const std::string& conninfo);

// Runs `sql`, which returns no rows or rows that are discarded.
void Sql(PGconn* c, const std::string& sql);

// The one integer `sql` returns.
int64_t SqlInt(PGconn* c, const std::string& sql);

// COPYs `rows` (COPY text format lines of id, account, amount, ts) into `table` in one
// transaction.
void CopyRows(PGconn* c, const std::string& table, const std::string& rows);

}  // namespace onceflow::bench
