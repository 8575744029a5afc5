// Shared by the engine's tests: the ledger pipeline's sink (examples/ledger.toml) for the
// builder, and a pipeline run to its end. The transfers workload and the exact ledger check are
// in src/testing/ledger.h.
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

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

// Builds `builder` and runs it in `data_dir` until it has committed everything its source held.
// Its stats go to `*stats` and its log lines to `*log` when they are given.
inline Status RunToEnd(PipelineBuilder& builder, const std::string& data_dir,
                       PipelineStats* stats = nullptr, std::vector<std::string>* log = nullptr) {
  auto p = builder.Build();
  if (!p.has_value()) return p.error();
  RunOptions o;
  o.data_dir = data_dir;
  o.until_caught_up = true;
  o.on_log = [log](const std::string& line) {
    if (log != nullptr) log->push_back(line);
  };
  Status s = (*p)->Run(o);
  if (stats != nullptr) *stats = (*p)->stats();
  return s;
}

}  // namespace onceflow::engine::testing
