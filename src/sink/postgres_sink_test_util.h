// The PostgreSQL sink's test fixture: a private schema on the test run's server per test, task
// builders shared with the SQLite sink's tests, and plain SQL through a connection of its own.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sink/postgres_sink.h"
#include "sink/sink_test_util.h"
#include "testing/postgres.h"
#include "util/fault_points.h"

namespace onceflow::sink::testing {

class PostgresSinkTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    ONCEFLOW_REQUIRE_POSTGRES();
    server_ = onceflow::testing::TestPostgres();
    schema_ = onceflow::testing::UniqueName("sinktest");
    conninfo_ = onceflow::testing::WithSchema(server_, schema_);
  }
  void TearDown() override {
    faults::DisarmAll();
    if (!schema_.empty())
      onceflow::testing::PgQuery(server_, "DROP SCHEMA " + schema_ + " CASCADE");
  }

  // Makes and opens a sink on the test's schema; fails the test on error.
  std::unique_ptr<Sink> OpenSink(PostgresSinkOptions options) {
    if (options.conninfo.empty()) options.conninfo = conninfo_;
    return testing::OpenedOrFail(MakePostgresSink(std::move(options)));
  }

  std::vector<std::string> Query(const std::string& sql) {
    return onceflow::testing::PgQuery(conninfo_, sql);
  }
  std::string QueryOne(const std::string& sql) { return testing::OneRow(Query(sql), sql); }
  // The progress rows of `pipeline` as "task:batch:epoch:ranges" lines.
  std::vector<std::string> Progress(const std::string& pipeline = "p") {
    return Query(testing::ProgressRowsSql(pipeline));
  }

  std::string server_;    // the run's server
  std::string schema_;    // this test's schema on it
  std::string conninfo_;  // server_ with search_path = schema_
};

}  // namespace onceflow::sink::testing
