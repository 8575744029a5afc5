// Shared by the engine's tests: the ledger pipeline's sink (examples/ledger.toml) for the
// builder. The transfers workload and the exact ledger check are in src/testing/ledger.h.
#pragma once

#include <sqlite3.h>

#include <string>

#include "log/log_test_util.h"
#include "log/topic.h"
#include "onceflow/pipeline.h"
#include "testing/ledger.h"
#include "testing/sqlite_query.h"

namespace onceflow::engine::testing {

// The sink of examples/ledger.toml writing to the SQLite database `db`.
inline SqliteSinkOptions LedgerSink(const std::string& db) {
  SqliteSinkOptions s;
  s.path = db;
  s.init = ::onceflow::testing::LedgerInit();
  s.mode = SinkMode::kStatements;
  s.statements = ::onceflow::testing::LedgerStatements();
  return s;
}

}  // namespace onceflow::engine::testing
