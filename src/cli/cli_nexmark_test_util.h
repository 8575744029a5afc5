// The Nexmark CLI tests' shared parts: the examples of examples/nexmark/ copied beside a test's
// files with fewer events, and the generator's bids written by the model straight into a plain
// SQLite table (no engine), over which the tests compute the expected outputs in SQL.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "source/nexmark_model.h"
#include "testing/cli_test_base.h"
#include "testing/sqlite_query.h"

namespace onceflow::testing {

using Rows = std::vector<std::vector<std::string>>;

inline constexpr int64_t kEvents = 200'000;  // 20 s of event time at the examples' 10 000 events/s

inline std::string ReadExample(const std::string& name) {
  std::ifstream in(std::string(ONCEFLOW_SOURCE_DIR) + "/examples/nexmark/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CliNexmarkTest : public CliTestBase {
 protected:
  // Copies the example beside the test's files (its sink path is relative to it) with kEvents.
  std::string Example(const std::string& name) {
    std::string toml = ReadExample(name);
    const std::string from = "events = 1000000";
    const size_t at = toml.find(from);
    EXPECT_NE(at, std::string::npos) << name;
    if (at != std::string::npos)
      toml.replace(at, from.size(), "events = " + std::to_string(kEvents));
    const std::string path = tmp_ + "/" + name;
    WriteWholeFile(path, toml);
    return path;
  }

  void RunExample(const std::string& name) {
    RunResult r = Run({"run", Example(name), "--until-caught-up", "--data", data_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // The bids of the examples' generator, written by the model straight into a table.
  std::string ExpectedDb() {
    const std::string db = tmp_ + "/expected.db";
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(h,
                           "CREATE TABLE bid(auction INTEGER, bidder INTEGER, price INTEGER, "
                           "channel TEXT, url TEXT, date_time INTEGER, extra TEXT); BEGIN",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_stmt* insert = nullptr;
    EXPECT_EQ(
        sqlite3_prepare_v2(h, "INSERT INTO bid VALUES(?, ?, ?, ?, ?, ?, ?)", -1, &insert, nullptr),
        SQLITE_OK);
    NexmarkSourceOptions o;
    o.events = kEvents;
    o.partitions = 4;
    o.events_per_second = 10'000;
    source::nexmark::Event e;
    for (int64_t j = 0; j < source::nexmark::CountOf(NexmarkKind::kBid, kEvents); ++j) {
      source::nexmark::Generate(o, source::nexmark::EventNumberOf(NexmarkKind::kBid, j), &e);
      sqlite3_bind_int64(insert, 1, e.auction);
      sqlite3_bind_int64(insert, 2, e.bidder);
      sqlite3_bind_int64(insert, 3, e.price);
      sqlite3_bind_text(insert, 4, e.channel.data(), static_cast<int>(e.channel.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_text(insert, 5, e.url.data(), static_cast<int>(e.url.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert, 6, e.date_time);
      sqlite3_bind_text(insert, 7, e.extra.data(), static_cast<int>(e.extra.size()),
                        SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(insert), SQLITE_DONE);
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    EXPECT_EQ(sqlite3_exec(h, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
    return db;
  }
};

}  // namespace onceflow::testing
