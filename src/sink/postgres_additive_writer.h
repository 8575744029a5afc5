// The PostgreSQL sink's additive mode: a commit's deltas summed per table and key
// (AdditiveSums), upserted as multi-row INSERT ... ON CONFLICT statements at the end of the
// transaction, and the plain rows (sink.append) copied in beside them.
#pragma once

#include <memory>
#include <span>

#include "onceflow/options.h"
#include "onceflow/status.h"
#include "sink/postgres_conn.h"
#include "sink/postgres_row_writer.h"

namespace onceflow::sink {

// Write() checks each row (every key and delta field present, deltas numbers: else the row is a
// dead letter and adds nothing), COPYs the good rows into sink.append's table (a row the table
// refuses is found row by row, becomes a dead letter and adds nothing either), and adds their
// deltas to the sums. Finish(), under one savepoint, runs per table in key order
//   INSERT INTO t(keys, columns) VALUES(...), (...), ... ON CONFLICT(keys) DO UPDATE SET
//   c = COALESCE(t.c, 0) + EXCLUDED.c
// with up to kAdditiveKeysPerStatement keys per statement (one row per key: the sums are per
// key already). A statement the server refuses for its data (bigint out of range, a CHECK) is
// searched key by key and reported as a final Aborted naming table, key and the server's
// message: the rows behind a sum cannot be told apart, so the batch is refused rather than
// half applied. Exactly once only because the sink applies a batch once (its progress row, same
// transaction): a replayed sum would add twice.
// REQUIRES: ValidateAdditiveOptions accepted the options.
Result<std::unique_ptr<PgRowWriter>> MakePgAdditiveWriter(PgConn* conn, std::span<const AddTo> add,
                                                          const AppendTo& append);

}  // namespace onceflow::sink
