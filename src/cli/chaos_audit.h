// The audits at the end of `onceflow chaos`: `verify` (the sink's progress rows against the
// checkpoint) and the input-vs-output audit by a reference run — the same pipeline, under
// another name, run once without faults from the same input into a fresh SQLite database —
// whose tables must equal the chaos sink's, row for row and count for count. A record lost
// shows as a row missing, a record applied twice as a row too many or a different balance.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/chaos_key_audit.h"
#include "cli/chaos_kill_loop.h"
#include "cli/chaos_report.h"
#include "onceflow/status.h"

namespace onceflow::cli {

// Compares two SQLite sink databases: every table but onceflow_progress, as a multiset of rows
// (the same columns, every distinct row the same number of times), and the dead letters of
// each side's pipeline by (partition, offset, raw record). Returns one line per difference
// (at most 10 per table, then how many more), naming the table, the row, its counts on each
// side and what it means: LOST (fewer in the sink), DUPLICATED (more), PHANTOM (never in the
// reference). Appends "table T: N rows, identical" lines to *same.
// An error is returned only when a database cannot be read.
Result<std::vector<std::string>> CompareSqliteSinks(const std::string& sink_db,
                                                    const std::string& sink_pipeline,
                                                    const std::string& reference_db,
                                                    const std::string& reference_pipeline,
                                                    std::vector<std::string>* same);

// Runs every audit that applies to the target, once its pipeline is stopped: verify, the
// reference run when the source is the embedded log and the sink SQLite (otherwise it says why
// not), and the per-record audit of `key` if given (chaos_key_audit.h). What passed goes to
// tally->audit, what failed to tally->violations.
Status AuditChaos(const ChaosTarget& target, const std::optional<AuditKey>& key, ChaosTally* tally);

}  // namespace onceflow::cli
