// The SQLite sink's additive mode: a commit's deltas summed per table and key (AdditiveSums),
// one upsert per key at the end of the transaction, and the plain rows (sink.append) inserted
// beside them.
#pragma once

#include <memory>
#include <span>

#include "onceflow/options.h"
#include "onceflow/status.h"
#include "sink/sqlite_db.h"
#include "sink/sqlite_row_writer.h"

namespace onceflow::sink {

// Write() checks each row (every key and delta field present, deltas numbers: else the row is a
// dead letter and adds nothing), inserts the good rows into sink.append's table (a row the
// table refuses is a dead letter and adds nothing either), and adds their deltas to the sums.
// Finish() runs, per table in key order, one
//   INSERT INTO t(keys, columns) VALUES(...) ON CONFLICT(keys) DO UPDATE SET
//   c = onceflow_add(c, excluded.c)
// per key: onceflow_add is NULL-as-0 addition that refuses to leave int64 (SQLite would turn
// the sum into a REAL) and a stored value that is not a number. A key the database refuses (an
// overflow, a CHECK) is a final Aborted naming table, key and the database's message: the rows
// behind a sum cannot be told apart, so the batch is refused rather than half applied.
// Exactly once only because the sink applies a batch once (its progress row, same
// transaction): a replayed sum would add twice.
// REQUIRES: `*db` outlives the writer; ValidateAdditiveOptions accepted the options.
Result<std::unique_ptr<RowWriter>> MakeAdditiveWriter(SqliteDb* db, std::span<const AddTo> add,
                                                      const AppendTo& append);

}  // namespace onceflow::sink
