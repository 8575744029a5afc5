// The PostgreSQL sink's own behaviour against a real server: binding by the column's type, values
// a column cannot take, option errors. The commit contract and the modes it shares with SQLite
// (duplicates, fencing, claims, gaps, dead letters, binding by name) are sql_sink_contract_test.h.
#include "sink/postgres_sink.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "sink/postgres_sink_test_util.h"

namespace onceflow::sink {
namespace {

using testing::CommitOne;
using testing::R;
using testing::Task;

class PostgresSinkTest : public testing::PostgresSinkTestBase {
 protected:
  static PostgresSinkOptions AppendOrders() {
    PostgresSinkOptions o;
    o.init = {"CREATE TABLE IF NOT EXISTS orders(id INTEGER NOT NULL, item TEXT, "
              "price DOUBLE PRECISION, paid BOOLEAN, note TEXT)"};
    o.mode = SinkMode::kAppend;
    o.table = "orders";
    return o;
  }
};

TEST_F(PostgresSinkTest, ValuesTakeTheTypeOfTheirColumn) {
  PostgresSinkOptions o;
  o.init = {"CREATE TABLE typed(n NUMERIC, t TEXT, j JSONB, ts TIMESTAMPTZ, b BIGINT, r REAL)"};
  o.table = "TYPED";  // unquoted names fold to lower case, as in SQL
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {{Row{{"n", 0.1},
                                          {"t", int64_t{42}},
                                          {"j", "{\"a\": [1, 2]}"},
                                          {"ts", "2024-01-02 03:04:05+00"},
                                          {"b", int64_t{9007199254740993}},
                                          {"r", 1.5}}}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 1)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(QueryOne("SELECT n, t, j->'a'->>1, extract(epoch from ts), b, r FROM typed"),
            "0.1|42|2|1704164645.000000|9007199254740993|1.5");
}

TEST_F(PostgresSinkTest, StatementsTakeIntegersDoublesStringsAndNulls) {
  PostgresSinkOptions o;
  o.init = {"CREATE TABLE m(k TEXT PRIMARY KEY, total NUMERIC NOT NULL, n BIGINT, at DATE)"};
  o.mode = SinkMode::kStatements;
  o.statements = {"INSERT INTO m(k, total, n, at) VALUES(:k, :v, 1, :at) ON CONFLICT(k) DO "
                  "UPDATE SET total = m.total + :v, n = m.n + 1"};
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {
      {Row{{"k", "a"}, {"v", int64_t{2}}, {"at", "2024-05-06"}}},
      {Row{{"k", "a"}, {"v", 0.5}, {"at", Value()}}},  // another type: another prepared plan
      {Row{{"k", "b"}, {"v", int64_t{-4}}, {"at", Value()}}}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 3)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query("SELECT k, total, n, coalesce(at::text, '-') FROM m ORDER BY k"),
            (std::vector<std::string>{"a|2.5|2|2024-05-06", "b|-4|1|-"}));
}

// Binding by the column's type: a value the type cannot parse, a NUL byte, bytes that are not
// UTF-8 are dead letters (SQLite, with its flexible typing, stores them); the rest commits.
TEST_F(PostgresSinkTest, ValuesTheColumnCannotTakeAreDeadLetters) {
  auto sink = OpenSink(AppendOrders());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {
      {Row{{"id", int64_t{1}}, {"item", "a"}}, PartitionId(2), Offset(40)},
      {Row{{"id", "x"}, {"item", "d"}}, PartitionId(2), Offset(43)},  // not an integer
      {Row{{"id", int64_t{5}}, {"item", std::string("n\0l", 3)}}, PartitionId(2), Offset(44)},
      {Row{{"id", int64_t{6}}, {"item", "\xff"}}, PartitionId(2), Offset(45)},  // not UTF-8
      {Row{{"id", int64_t{7}}, {"price", 2.0}}, PartitionId(2), Offset(46)}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(2, 40, 47)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query("SELECT id, coalesce(item, '-') FROM orders ORDER BY id"),
            (std::vector<std::string>{"1|a", "7|-"}));
  const std::vector<std::string> dead =
      Query("SELECT pipeline, batch, partition, \"offset\", error FROM onceflow_dead_letters "
            "ORDER BY \"offset\"");
  ASSERT_EQ(dead.size(), 3u);
  EXPECT_EQ(dead[0], "p|0|2|43|insert into orders: invalid input syntax for type integer: \"x\"");
  EXPECT_EQ(dead[1], "p|0|2|44|insert into orders: a string holds a NUL byte, which PostgreSQL "
                     "text cannot hold");
  EXPECT_EQ(dead[2], "p|0|2|45|insert into orders: invalid byte sequence for encoding \"UTF8\": "
                     "0xff");
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:0:1:2:40-47"});
}

// A batch of many chunks runs under one savepoint; a row failing in its second statement, in
// the first chunk and in a later one, rolls that back and the checked path finds exactly those
// rows: they are dead letters with no partial effect, every other row applied once.
TEST_F(PostgresSinkTest, StatementsRowsFailingInAnyChunkLeaveNoPartialEffect) {
  PostgresSinkOptions o;
  o.init = {"CREATE TABLE acc(id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
            "CREATE TABLE led(id BIGINT NOT NULL, amount BIGINT NOT NULL CHECK (amount > 0))"};
  o.mode = SinkMode::kStatements;
  o.statements = {"INSERT INTO acc(id, balance) VALUES(:to, :amount) ON CONFLICT(id) DO UPDATE "
                  "SET balance = acc.balance + :amount",
                  "INSERT INTO led(id, amount) VALUES(:id, :amount)"};
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  constexpr int64_t kRows = 3000;  // 6,000 statements: six pipelined chunks
  const std::vector<int64_t> bad = {10, 2500};
  std::vector<SinkRow> rows;
  int64_t expected_balance = 0;
  for (int64_t i = 0; i < kRows; ++i) {
    const bool is_bad = std::find(bad.begin(), bad.end(), i) != bad.end();
    const int64_t amount = is_bad ? -1 : i % 7 + 1;
    if (!is_bad) expected_balance += amount;
    rows.push_back({Row{{"id", i}, {"to", i % 5}, {"amount", amount}}, PartitionId(0), Offset(i)});
  }
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, kRows)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(QueryOne("SELECT sum(balance) FROM acc"), std::to_string(expected_balance));
  EXPECT_EQ(QueryOne("SELECT count(*), count(DISTINCT id) FROM led"),
            std::to_string(kRows - 2) + "|" + std::to_string(kRows - 2));
  EXPECT_EQ(Query("SELECT \"offset\" FROM onceflow_dead_letters ORDER BY \"offset\""),
            (std::vector<std::string>{"10", "2500"}));
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:0:1:0:0-3000"});
}

TEST_F(PostgresSinkTest, OptionErrorsNameTheOptionAndNeverThePassword) {
  struct Case {
    PostgresSinkOptions options;
    const char* expected;
  };
  auto with = [](auto change) {
    PostgresSinkOptions o;
    o.conninfo = "host=db.example port=5433 dbname=bank user=app password=hunter2";
    change(o);
    return o;
  };
  const std::vector<Case> cases = {
      {with([](PostgresSinkOptions& o) { o.conninfo = ""; }), "sink.conninfo is required"},
      {with([](PostgresSinkOptions& o) { o.conninfo = "host=h password=hunter2 junk"; }),
       "sink.conninfo is not a valid libpq connection string"},
      {with([](PostgresSinkOptions&) {}),
       "postgres host=db.example port=5433 dbname=bank: sink.table is required in append mode"},
      {with([](PostgresSinkOptions& o) { o.table = "orders; DROP TABLE x"; }),
       "sink.table 'orders; DROP TABLE x' is not a plain identifier"},
      {with([](PostgresSinkOptions& o) {
         o.mode = SinkMode::kUpsert;
         o.table = "t";
       }),
       "sink.key (the conflict columns) is required in upsert mode"},
      {with([](PostgresSinkOptions& o) { o.mode = SinkMode::kStatements; }),
       "sink.statements is required in statements mode"},
  };
  for (const Case& c : cases) {
    auto sink = MakePostgresSink(c.options);
    ASSERT_FALSE(sink.has_value()) << c.expected;
    EXPECT_TRUE(sink.error().IsInvalidArgument());
    EXPECT_NE(sink.error().message().find(c.expected), std::string::npos) << sink.error().message();
    EXPECT_EQ(sink.error().message().find("hunter2"), std::string::npos) << sink.error().message();
  }
  PostgresSinkOptions uri;
  uri.conninfo = "postgresql://app:hunter2@db.example:5433/bank?sslmode=disable";
  uri.table = "t";
  auto sink = MakePostgresSink(uri);
  ASSERT_TRUE(sink.has_value()) << sink.error().ToString();
  EXPECT_EQ((*sink)->Describe(), "postgres host=db.example port=5433 dbname=bank");
}

}  // namespace
}  // namespace onceflow::sink
