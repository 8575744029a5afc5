// The PostgreSQL sink: output rows and the tasks' progress rows in one PostgreSQL transaction
// per commit, so that a batch's effect is in the database exactly once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::sink {

struct PostgresSinkOptions {
  // A libpq connection string ("host=... port=... dbname=... user=... password=...") or URI.
  std::string conninfo;
  // Statements run at every Open(), before anything else (CREATE TABLE IF NOT EXISTS ...).
  std::vector<std::string> init;
  SinkMode mode = SinkMode::kAppend;
  // append, upsert: the table the rows go to, a plain identifier (folded to lower case, as
  // PostgreSQL folds unquoted names).
  std::string table;
  // upsert: the conflict columns; they need a PRIMARY KEY or UNIQUE constraint on the table.
  std::vector<std::string> key;
  // statements: one SQL statement per entry, run in order for every row, with :field named
  // parameters bound from the row's fields. No transaction control.
  std::vector<std::string> statements;
  // After the connection is lost, how long a commit keeps reconnecting (with backoff) before it
  // reports a retryable error.
  int reconnect_timeout_ms = 15000;
};

// Validates `options` and returns an unopened sink; call Open() before anything else.
// invalid_argument names the option at fault ("sink.conninfo", "sink.table", ...).
//
// The sink keeps one connection, serialised by a mutex. Each Commit is one transaction for all
// its tasks: every task's progress row is locked (SELECT ... FOR UPDATE, after inserting a
// placeholder so that a first commit locks too) and checked; the rows go in by COPY (append) or
// pipelined prepared statements (upsert, statements); when Commit returns kCommitted the batch
// is durable. Rows that fail go to onceflow_dead_letters in the same transaction. A lost
// connection is a retryable IoError and the next call reconnects with backoff; a commit in
// doubt (the connection lost during COMMIT) is resolved by the retry, which reads the progress
// rows. Describe() and every error name host, port and database, never the password.
Result<std::unique_ptr<Sink>> MakePostgresSink(PostgresSinkOptions options);

}  // namespace onceflow::sink
