// The Nexmark queries of examples/nexmark/ run by the `onceflow` binary, each output compared
// exactly with the same query computed independently: the bids generated directly by the model
// into a plain SQLite table, and the query written in SQL over it. Also `nexmark generate`:
// a log pipeline over its topic commits what the generator source commits.
#include "cli/cli_nexmark_test_util.h"

namespace onceflow::testing {
namespace {

TEST_F(CliNexmarkTest, Q0PassesEveryBidThrough) {
  RunExample("q0.toml");
  if (HasFatalFailure()) return;
  ExpectQ0IsTheGeneratedBids();
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
  RunQ0Over("type = \"log\"\ntopic = \"bids\"\n");
  if (HasFatalFailure()) return;
  ExpectQ0IsTheGeneratedBids();
  // A non-empty topic is refused: its offsets would not be the generator's.
  RunResult again = RunData({"nexmark", "generate", "--topic", "bids", "--events", "10"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("topic 'bids' partition 0 is not empty"), std::string::npos)
      << again.err;
}

}  // namespace
}  // namespace onceflow::testing
