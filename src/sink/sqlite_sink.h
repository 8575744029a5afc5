// The SQLite sink: output rows and the tasks' progress rows in one SQLite transaction per
// commit, so that a batch's effect is in the database exactly once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "onceflow/options.h"
#include "onceflow/status.h"
#include "sink/sink.h"

namespace onceflow::sink {

// The options are the public ones (include/onceflow/options.h).
using onceflow::SqliteSinkOptions;

// Validates `options` and returns an unopened sink; call Open() before anything else.
// invalid_argument names the option at fault ("sink.table", "sink.key", ...).
//
// The sink keeps one connection (WAL, synchronous=FULL), serialised by a mutex: concurrent
// Commit calls run one after another. Each Commit is one BEGIN IMMEDIATE transaction for all its
// tasks; when Commit returns kCommitted the batch is durable. A task (pipeline, task) may appear
// only once per Commit call. Rows that fail to bind or violate a constraint go to the
// onceflow_dead_letters table in the same transaction; the rest of the batch commits. SQLite
// busy past the timeout is a retryable Busy; fencing is Fenced; a gap or overlap with the
// stored ranges is a final Aborted. See README.md for the tables and the protocol.
Result<std::unique_ptr<Sink>> MakeSqliteSink(SqliteSinkOptions options);

}  // namespace onceflow::sink
