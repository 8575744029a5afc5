// The Nexmark CLI tests' shared parts: the examples of examples/nexmark/ with fewer events, and
// the generator's bids written by the model straight into a plain SQLite table (no engine), over
// which the tests compute the expected outputs in SQL.
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

inline std::string ReadExample(const std::string& name) {
  std::ifstream in(std::string(ONCEFLOW_SOURCE_DIR) + "/examples/nexmark/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// examples/nexmark/NAME with `events` events and `events_per_second` of event time (the
// examples' own: 1 000 000 and 10 000). A test failure if the example has no such keys.
// With `base_time_ms` >= 0, the generator's base time is set as well.
inline std::string NexmarkExample(const std::string& name, int64_t events,
                                  int64_t events_per_second = 10'000, int64_t base_time_ms = -1) {
  std::string toml = ReadExample(name);
  const auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = toml.find(from);
    if (at == std::string::npos) {
      ADD_FAILURE() << name << " has no '" << from << "'";
      return;
    }
    toml.replace(at, from.size(), to);
  };
  replace("events = 1000000", "events = " + std::to_string(events));
  if (events_per_second != 10'000 || base_time_ms >= 0) {
    replace("events_per_second = 10000",
            "events_per_second = " + std::to_string(events_per_second) +
                (base_time_ms < 0 ? "" : "\nbase_time_ms = " + std::to_string(base_time_ms)));
  }
  return toml;
}

// Writes the bids among the first `events` events of the examples' generator (4 partitions,
// `events_per_second`) into the table bid of a new SQLite database at `db`; returns `db`.
inline std::string WriteGeneratedBids(const std::string& db, int64_t events,
                                      int64_t events_per_second = 10'000,
                                      int64_t base_time_ms = -1) {
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
  o.events = events;
  o.partitions = 4;
  o.events_per_second = events_per_second;
  if (base_time_ms >= 0) o.base_time_ms = base_time_ms;
  source::nexmark::Event e;
  const auto text = [&](int column, std::string_view s) {
    sqlite3_bind_text(insert, column, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  };
  for (int64_t j = 0; j < source::nexmark::CountOf(NexmarkKind::kBid, events); ++j) {
    source::nexmark::Generate(o, source::nexmark::EventNumberOf(NexmarkKind::kBid, j), &e);
    sqlite3_bind_int64(insert, 1, e.auction);
    sqlite3_bind_int64(insert, 2, e.bidder);
    sqlite3_bind_int64(insert, 3, e.price);
    text(4, e.channel);
    text(5, e.url);
    sqlite3_bind_int64(insert, 6, e.date_time);
    text(7, e.extra);
    EXPECT_EQ(sqlite3_step(insert), SQLITE_DONE);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  EXPECT_EQ(sqlite3_exec(h, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
  return db;
}

class CliNexmarkTest : public CliTestBase {
 protected:
  static constexpr int64_t kEvents = 200'000;  // 20 s of event time at 10 000 events/s

  // Copies the example beside the test's files (its sink path is relative to it) with kEvents.
  std::string Example(const std::string& name) {
    const std::string path = tmp_ + "/" + name;
    WriteWholeFile(path, NexmarkExample(name, kEvents));
    return path;
  }

  void RunExample(const std::string& name) {
    RunResult r = Run({"run", Example(name), "--until-caught-up", "--data", data_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // The bids of the examples' generator, written by the model straight into a table.
  std::string ExpectedDb() { return WriteGeneratedBids(tmp_ + "/expected.db", kEvents); }

  // Runs examples/nexmark/q0.toml until caught up with its source's keys (after `type`) replaced
  // by `source_keys`, e.g. a topic the generator's bids were written into.
  void RunQ0Over(const std::string& source_keys) {
    std::string toml = ReadExample("q0.toml");
    const size_t from = toml.find("type = \"nexmark\"");
    const size_t to = toml.find("[[transform]]");
    ASSERT_NE(from, std::string::npos);
    ASSERT_NE(to, std::string::npos);
    toml.replace(from, to - from, source_keys);
    WriteWholeFile(tmp_ + "/q0.toml", toml);
    RunResult r = Run({"run", tmp_ + "/q0.toml", "--until-caught-up", "--data", data_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // q0's output (q0.db beside the test's files) is exactly the generator's 184 000 bids.
  void ExpectQ0IsTheGeneratedBids() {
    const std::string order = " ORDER BY auction, bidder, price, date_time, extra";
    Rows expected = SqliteTextRows(
        ExpectedDb(), "SELECT auction, bidder, price, date_time, extra FROM bid" + order);
    Rows got = SqliteTextRows(tmp_ + "/q0.db",
                              "SELECT auction, bidder, price, date_time, extra FROM q0" + order);
    ASSERT_EQ(got.size(), 184'000u);
    EXPECT_TRUE(got == expected) << "q0 differs from the generated bids";
  }
};

}  // namespace onceflow::testing
