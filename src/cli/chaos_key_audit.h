// The per-record audit of `onceflow chaos --audit-key FIELD=TABLE.COLUMN`: for pipelines whose
// output rows carry an identifier of their input record (the ledger's `id`), every record of the
// embedded log's topic must be accounted for exactly once — one row of TABLE whose COLUMN is the
// record's FIELD, or one dead letter of its partition and offset, never both, never neither —
// and no row may carry an identifier that no record has. Unlike the reference run it does not
// trust the engine to be right once: a record the engine always drops is caught here.
#pragma once

#include <string>
#include <vector>

#include "cli/chaos_kill_loop.h"
#include "onceflow/status.h"

namespace onceflow::cli {

struct AuditKey {
  std::string field;   // of the decoded input record
  std::string table;   // of the SQLite sink
  std::string column;  // of `table`
};

// Parses "FIELD=TABLE.COLUMN"; invalid_argument naming the flag otherwise.
Result<AuditKey> ParseAuditKey(const std::string& spec);

// Runs the audit over the target's topic and SQLite sink (REQUIRES: the pipeline is stopped).
// Returns one line per violation (at most 10 of each kind, then how many more): LOST (a record
// with no row and no dead letter), DUPLICATED (more than one), PHANTOM (a row no record
// explains); *summary says what was checked. The input's identifiers must be unique. Builds
// its index of the input in <work_dir>/input-keys.db. An error is returned when the topic or
// the sink cannot be read, or the pipeline is not one it applies to (not the embedded log into
// SQLite).
Result<std::vector<std::string>> AuditRecordKeys(const ChaosTarget& target, const AuditKey& key,
                                                 std::string* summary);

}  // namespace onceflow::cli
