// The SQLite sink's test fixture: a temporary database per test, and plain SQL on it through a
// connection of the test's own (testing/sqlite_query.h: what another reader of the file sees).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sink/sink_test_util.h"
#include "sink/sqlite_sink.h"
#include "testing/sqlite_query.h"
#include "testing/temp_dir.h"
#include "util/fault_points.h"

namespace onceflow::sink::testing {

// A fresh directory holding the test's database, removed afterwards; faults disarmed.
class SqliteSinkTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = std::make_unique<::onceflow::testing::TempDir>("sink-test");
    ASSERT_FALSE(tmp_->path().empty());
    dir_ = tmp_->path();
    path_ = dir_ + "/out.db";
  }
  void TearDown() override {
    faults::DisarmAll();
    tmp_.reset();
  }

  // Makes and opens a sink on path_; fails the test on error.
  std::unique_ptr<Sink> OpenSink(SqliteSinkOptions options) {
    options.path = path_;
    return testing::OpenedOrFail(MakeSqliteSink(std::move(options)));
  }

  std::vector<std::string> Query(const std::string& path, const std::string& sql) {
    return ::onceflow::testing::SqliteRows(path, sql);
  }
  std::string QueryOne(const std::string& path, const std::string& sql) {
    return ::onceflow::testing::SqliteQueryOne(path, sql);
  }

  // The progress rows of `pipeline` as "task:batch:epoch:ranges" lines.
  std::vector<std::string> Progress(const std::string& pipeline = "p") {
    return Query(path_, testing::ProgressRowsSql(pipeline));
  }

  std::unique_ptr<::onceflow::testing::TempDir> tmp_;
  std::string dir_;   // tmp_'s path
  std::string path_;  // the database: dir_/out.db
};

}  // namespace onceflow::sink::testing
