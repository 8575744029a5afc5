// The Nexmark queries of examples/nexmark/ run by the `onceflow` binary, each output compared
// exactly with the same query computed independently: the bids generated directly by the model
// into a plain SQLite table, and the query written in SQL over it. Also `nexmark generate`:
// a log pipeline over its topic commits what the generator source commits.
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
namespace {

using Rows = std::vector<std::vector<std::string>>;

constexpr int64_t kEvents = 200'000;  // 20 s of event time at the examples' 10 000 events/s

std::string ReadExample(const std::string& name) {
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

TEST_F(CliNexmarkTest, Q0PassesEveryBidThrough) {
  RunExample("q0.toml");
  if (HasFatalFailure()) return;
  const std::string order = " ORDER BY auction, bidder, price, date_time, extra";
  Rows expected = SqliteTextRows(
      ExpectedDb(), "SELECT auction, bidder, price, date_time, extra FROM bid" + order);
  Rows got = SqliteTextRows(tmp_ + "/q0.db",
                            "SELECT auction, bidder, price, date_time, extra FROM q0" + order);
  ASSERT_EQ(got.size(), 184'000u);
  EXPECT_TRUE(got == expected) << "q0 differs from the generated bids";
}

TEST_F(CliNexmarkTest, Q5CountsBidsPerAuctionInEverySlidingWindow) {
  RunExample("q5.toml");
  if (HasFatalFailure()) return;
  // Each bid is in the five 10 s windows that start at multiples of 2 s within 10 s before it.
  Rows expected = SqliteTextRows(
      ExpectedDb(), "WITH back(i) AS (VALUES (0), (1), (2), (3), (4)) "
                    "SELECT auction, COUNT(*), ws, ws + 10000 FROM "
                    "(SELECT auction, (date_time / 2000) * 2000 - i * 2000 AS ws FROM bid, back) "
                    "GROUP BY auction, ws ORDER BY auction, ws");
  Rows got =
      SqliteTextRows(tmp_ + "/q5.db", "SELECT auction, num, window_start, window_end FROM q5 "
                                      "ORDER BY auction, window_start");
  ASSERT_GT(expected.size(), 1000u);
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "q5 differs from SQL over the generated bids";
}

TEST_F(CliNexmarkTest, Q7FindsTheHighestPriceOfEveryWindow) {
  RunExample("q7.toml");
  if (HasFatalFailure()) return;
  Rows expected =
      SqliteTextRows(ExpectedDb(), "SELECT MAX(price), (date_time / 10000) * 10000 AS ws, "
                                   "(date_time / 10000) * 10000 + 10000 FROM bid "
                                   "GROUP BY ws ORDER BY ws");
  Rows got = SqliteTextRows(
      tmp_ + "/q7.db", "SELECT maxprice, window_start, window_end FROM q7 ORDER BY window_start");
  ASSERT_GE(expected.size(), 2u);
  EXPECT_EQ(got, expected);
}

TEST_F(CliNexmarkTest, GenerateWritesTheSourcesEventsIntoATopic) {
  ASSERT_EQ(RunData({"topics", "create", "bids", "--partitions", "4"}).exit_code, 0);
  RunResult g = RunData({"nexmark", "generate", "--topic", "bids", "--events",
                         std::to_string(kEvents), "--events-per-second", "10000"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.err.find("wrote 184000 nexmark bid events of 200000 into topic 'bids'"),
            std::string::npos)
      << g.err;
  // q0 over the topic: the same rows as over the generator.
  std::string toml = ReadExample("q0.toml");
  const size_t from = toml.find("type = \"nexmark\"");
  const size_t to = toml.find("[[transform]]");
  ASSERT_NE(from, std::string::npos);
  toml.replace(from, to - from, "type = \"log\"\ntopic = \"bids\"\n");
  WriteWholeFile(tmp_ + "/q0.toml", toml);
  RunResult r = Run({"run", tmp_ + "/q0.toml", "--until-caught-up", "--data", data_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string order = " ORDER BY auction, bidder, price, date_time, extra";
  Rows expected = SqliteTextRows(
      ExpectedDb(), "SELECT auction, bidder, price, date_time, extra FROM bid" + order);
  Rows got = SqliteTextRows(tmp_ + "/q0.db",
                            "SELECT auction, bidder, price, date_time, extra FROM q0" + order);
  ASSERT_EQ(got.size(), 184'000u);
  EXPECT_TRUE(got == expected);
  // A non-empty topic is refused: its offsets would not be the generator's.
  RunResult again = RunData({"nexmark", "generate", "--topic", "bids", "--events", "10"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("topic 'bids' partition 0 is not empty"), std::string::npos)
      << again.err;
}

}  // namespace
}  // namespace onceflow::testing
