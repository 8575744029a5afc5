// The PostgreSQL sink: output rows and the tasks' progress rows in one PostgreSQL transaction
// per commit, so that a batch's effect is in the database exactly once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "onceflow/options.h"
#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::sink {

// The options are the public ones (include/onceflow/options.h).
using onceflow::PostgresSinkOptions;

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
