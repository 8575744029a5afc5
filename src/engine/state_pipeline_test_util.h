// The state pipeline tests' shared parts: the spend (running aggregate) and windows sinks and
// pipelines, their checks, and the fixture that runs a pipeline to its end.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/engine_test_util.h"
#include "onceflow/pipeline.h"
#include "testing/purchases.h"
#include "testing/sqlite_query.h"
#include "util/fault_points.h"

namespace onceflow::engine {

using ::onceflow::testing::CountAndSum;
using ::onceflow::testing::MakePurchases;
using ::onceflow::testing::ProducePurchases;
using ::onceflow::testing::Purchase;
using ::onceflow::testing::WindowSums;

inline constexpr auto QueryText = ::onceflow::testing::SqliteTextRows;

inline SqliteSinkOptions SpendSink(const std::string& db) {
  SqliteSinkOptions s;
  s.path = db;
  s.init = {"CREATE TABLE IF NOT EXISTS spend(user TEXT PRIMARY KEY, purchases INTEGER, "
            "spent INTEGER)"};
  s.mode = SinkMode::kUpsert;
  s.table = "spend";
  s.key = {"user"};
  return s;
}

inline SqliteSinkOptions WindowSink(const std::string& db) {
  SqliteSinkOptions s;
  s.path = db;
  s.init = {"CREATE TABLE IF NOT EXISTS windows(user TEXT, window_start INTEGER, window_end "
            "INTEGER, n INTEGER, total INTEGER, PRIMARY KEY(user, window_start))"};
  s.mode = SinkMode::kUpsert;
  s.table = "windows";
  s.key = {"user", "window_start"};
  return s;
}

inline PipelineBuilder SpendPipeline(const std::string& db, int64_t max_records = 100) {
  PipelineBuilder b("spend");
  b.FromLog({.topic = "purchases"})
      .Aggregate({"user"}, {{"purchases", "count"}, {"spent", "sum(amount)"}})
      .ToSqlite(SpendSink(db))
      .BatchInterval(std::chrono::milliseconds(1))
      .MaxRecordsPerPartition(max_records);
  return b;
}

// "" if the spend table holds exactly the counts and sums of `purchases`, else what differs.
inline std::string CheckSpend(const std::string& db, const std::vector<Purchase>& purchases) {
  auto expected = CountAndSum(purchases);
  auto rows = QueryText(db, "SELECT user, purchases, spent FROM spend ORDER BY user");
  if (rows.size() != expected.size()) {
    return std::to_string(rows.size()) + " users, expected " + std::to_string(expected.size());
  }
  for (const auto& r : rows) {
    auto it = expected.find(r[0]);
    if (it == expected.end()) return "unexpected user " + r[0];
    if (std::stoll(r[1]) != it->second.first || std::stoll(r[2]) != it->second.second) {
      return r[0] + ": " + r[1] + " purchases, " + r[2] + " spent; expected " +
             std::to_string(it->second.first) + ", " + std::to_string(it->second.second);
    }
  }
  return "";
}

class StatePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    db_ = dir_.path() + "/spend.db";
  }
  void TearDown() override { faults::DisarmAll(); }

  Status RunToEnd(PipelineBuilder&& builder, PipelineStats* stats = nullptr,
                  std::vector<std::string>* log = nullptr, const std::string& data = "") {
    return testing::RunToEnd(builder, data.empty() ? data_ : data, stats, log);
  }

  log::testing::TempDir dir_;
  std::string data_, db_;
};

// The windows table of WindowSink, in window order.
inline std::vector<std::vector<std::string>> Windows(const std::string& db) {
  return QueryText(db, "SELECT user, window_start, window_end, n, total FROM windows "
                       "ORDER BY window_start, user");
}

}  // namespace onceflow::engine
