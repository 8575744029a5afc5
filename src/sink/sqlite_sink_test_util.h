// Helpers shared by the SQLite sink's tests: a temporary database, task builders, and plain
// SQL queries through a connection of their own (what another reader of the file would see).
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "sink/sqlite_sink.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow::sink::testing {

inline TaskRange R(int32_t partition, int64_t from, int64_t until) {
  return {PartitionId(partition), Offset(from), Offset(until)};
}

inline TaskCommit Task(std::string pipeline, int32_t task, int64_t batch, int64_t epoch,
                       std::vector<TaskRange> ranges, std::span<const SinkRow> rows,
                       std::span<const DeadLetter> dead_letters = {}) {
  TaskCommit t;
  t.pipeline = std::move(pipeline);
  t.task = task;
  t.batch = BatchId(batch);
  t.epoch = Epoch(epoch);
  t.ranges = std::move(ranges);
  t.rows = rows;
  t.dead_letters = dead_letters;
  return t;
}

// Commits one task; returns its outcome.
inline Result<CommitOutcome> CommitOne(Sink* sink, const TaskCommit& task) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<CommitOutcome> outcomes, sink->Commit({&task, 1}));
  if (outcomes.size() != 1) return Err(Status::Aborted("expected one outcome"));
  return outcomes[0];
}

// The result rows of `sql` on the database at `path`, each row's columns joined by '|', NULL
// shown as "NULL". Fails the test on an SQL error.
inline std::vector<std::string> Query(const std::string& path, const std::string& sql) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      if (i > 0) row += '|';
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      row += text != nullptr ? std::string(text, sqlite3_column_bytes(stmt, i)) : "NULL";
    }
    out.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// The single value of a one-row, one-column query.
inline std::string QueryOne(const std::string& path, const std::string& sql) {
  std::vector<std::string> rows = Query(path, sql);
  if (rows.size() != 1) {
    ADD_FAILURE() << sql << ": " << rows.size() << " rows";
    return "";
  }
  return rows[0];
}

// A fresh directory holding the test's database, removed afterwards; faults disarmed.
class SqliteSinkTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/onceflow-sink-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/out.db";
  }
  void TearDown() override {
    faults::DisarmAll();
    RemoveAll(dir_).IgnoreError();  // best effort
  }

  // Makes and opens a sink on path_; fails the test on error.
  std::unique_ptr<Sink> OpenSink(SqliteSinkOptions options) {
    options.path = path_;
    auto sink = MakeSqliteSink(std::move(options));
    if (!sink.has_value()) {
      ADD_FAILURE() << sink.error().ToString();
      return nullptr;
    }
    Status s = (*sink)->Open();
    if (!s.ok()) {
      ADD_FAILURE() << s.ToString();
      return nullptr;
    }
    return std::move(*sink);
  }

  // The progress rows of `pipeline` as "task:batch:epoch:ranges" lines.
  std::vector<std::string> Progress(const std::string& pipeline = "p") {
    return Query(path_, "SELECT task || ':' || last_batch || ':' || epoch || ':' || ranges "
                        "FROM onceflow_progress WHERE pipeline = '" + pipeline +
                            "' ORDER BY task");
  }

  std::string dir_;
  std::string path_;
};

}  // namespace onceflow::sink::testing
