// The PostgreSQL sink's own behaviour against a real server: its modes' exact table contents and
// column types, COPY escaping, option and open errors. The commit contract it shares with SQLite
// (duplicates, fencing, claims, gaps, dead letters) is sql_sink_contract_test.h.
#include "sink/postgres_sink.h"

#include <gtest/gtest.h>

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
  static PostgresSinkOptions Bank() {
    PostgresSinkOptions o;
    o.init = {"CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, "
              "balance INTEGER NOT NULL CHECK(balance >= 0))",
              "CREATE TABLE IF NOT EXISTS ledger(seq SERIAL, account INTEGER NOT NULL, "
              "amount INTEGER)",
              "INSERT INTO accounts VALUES(1, 100), (2, 0) ON CONFLICT DO NOTHING"};
    o.mode = SinkMode::kStatements;
    o.statements = {"INSERT INTO ledger(account, amount) VALUES(:account, :amount)",
                    "UPDATE accounts SET balance = balance + :amount WHERE id = :account"};
    return o;
  }
  static std::vector<SinkRow> Transfers(std::vector<std::pair<int64_t, int64_t>> moves,
                                        int64_t first_offset = 0) {
    std::vector<SinkRow> rows;
    for (auto [account, amount] : moves) {
      rows.push_back({Row{{"account", account}, {"amount", amount}}, PartitionId(0),
                      Offset(first_offset++)});
    }
    return rows;
  }
};

TEST_F(PostgresSinkTest, AppendBindsFieldsToColumnsByName) {
  auto sink = OpenSink(AppendOrders());
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->Describe().rfind("postgres host=127.0.0.1 port=", 0), 0u) << sink->Describe();
  EXPECT_NE(sink->Describe().find("dbname=postgres"), std::string::npos) << sink->Describe();
  const std::vector<SinkRow> rows = {
      {Row{{"id", int64_t{1}}, {"item", "tea"}, {"price", 2.5}, {"paid", true}, {"note", "x"}},
       PartitionId(0), Offset(10)},
      // Another field order, an extra field, a missing column and an explicit null.
      {Row{{"price", int64_t{3}}, {"extra", "ignored"}, {"id", int64_t{2}}, {"paid", false},
           {"item", Value()}},
       PartitionId(0), Offset(11)},
      // What COPY's text format must escape, and a string that looks like its NULL.
      {Row{{"id", int64_t{3}}, {"item", "a\tb\nc\\d\re"}, {"note", "\\N"}}, PartitionId(0),
       Offset(12)},
  };
  auto outcome = CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 10, 13)}, rows));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(*outcome, CommitOutcome::kCommitted);
  EXPECT_EQ(Query("SELECT id, item, price, paid, note FROM orders WHERE id < 3 ORDER BY id"),
            (std::vector<std::string>{"1|tea|2.5|t|x", "2|NULL|3|f|NULL"}));
  EXPECT_EQ(QueryOne("SELECT item = E'a\\tb\\nc\\\\d\\re' AND note = E'\\\\N' FROM orders "
                     "WHERE id = 3"),
            "t");
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:0:1:0:10-13"});

  auto progress = sink->ReadProgress("p");
  ASSERT_TRUE(progress.has_value()) << progress.error().ToString();
  ASSERT_EQ(progress->size(), 1u);
  EXPECT_EQ(progress->at(0).last_batch, BatchId(0));
  EXPECT_EQ(progress->at(0).epoch, Epoch(1));
  EXPECT_EQ(progress->at(0).ranges, std::vector<TaskRange>{R(0, 10, 13)});
  EXPECT_TRUE(sink->ReadProgress("other")->empty());
}

TEST_F(PostgresSinkTest, ValuesTakeTheTypeOfTheirColumn) {
  PostgresSinkOptions o;
  o.init = {"CREATE TABLE typed(n NUMERIC, t TEXT, j JSONB, ts TIMESTAMPTZ, b BIGINT, r REAL)"};
  o.table = "TYPED";  // unquoted names fold to lower case, as in SQL
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {
      {Row{{"n", 0.1}, {"t", int64_t{42}}, {"j", "{\"a\": [1, 2]}"},
           {"ts", "2024-01-02 03:04:05+00"}, {"b", int64_t{9007199254740993}}, {"r", 1.5}}}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 1)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(QueryOne("SELECT n, t, j->'a'->>1, extract(epoch from ts), b, r FROM typed"),
            "0.1|42|2|1704164645.000000|9007199254740993|1.5");
}

TEST_F(PostgresSinkTest, UpsertUpdatesRowsByKey) {
  PostgresSinkOptions o;
  o.init = {"CREATE TABLE totals(region TEXT, day INTEGER, amount DOUBLE PRECISION, n INTEGER, "
            "PRIMARY KEY(region, day))"};
  o.mode = SinkMode::kUpsert;
  o.table = "totals";
  o.key = {"region", "day"};
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> b0 = {
      {Row{{"region", "eu"}, {"day", int64_t{1}}, {"amount", 1.5}, {"n", int64_t{1}}}},
      {Row{{"region", "us"}, {"day", int64_t{1}}, {"amount", 2.0}, {"n", int64_t{1}}}}};
  // The same key twice in one batch: the later row wins, as row by row.
  const std::vector<SinkRow> b1 = {
      {Row{{"region", "eu"}, {"day", int64_t{1}}, {"amount", 3.0}, {"n", int64_t{5}}}},
      {Row{{"region", "eu"}, {"day", int64_t{1}}, {"amount", 4.0}, {"n", int64_t{2}}}},
      {Row{{"region", "eu"}, {"day", int64_t{2}}, {"amount", 7.0}, {"n", int64_t{1}}}}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 2)}, b0)),
            CommitOutcome::kCommitted);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 2, 5)}, b1)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query("SELECT * FROM totals ORDER BY region, day"),
            (std::vector<std::string>{"eu|1|4|2", "eu|2|7|1", "us|1|2|1"}));
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:1:1:0:2-5"});
}

TEST_F(PostgresSinkTest, StatementsBindNamedParametersPerRow) {
  PostgresSinkOptions o = Bank();
  o.init.push_back("CREATE TABLE IF NOT EXISTS notes(account INTEGER, note TEXT)");
  // The same parameter twice, casts, and a ':' in a literal, an identifier and comments.
  o.statements.push_back(
      "UPDATE accounts SET balance = balance - :amount + :amount::integer /* :x */ "
      "WHERE id = :account -- :y");
  o.statements.push_back("INSERT INTO \"notes\"(account, note) VALUES(:account, "
                         "'fee '':' || :fee::text || $$ :z$$)");
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  std::vector<SinkRow> rows = Transfers({{1, 5}, {2, 7}, {1, -3}});
  for (SinkRow& r : rows) r.row.Set("fee", int64_t{1});
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 3)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query("SELECT * FROM accounts ORDER BY id"),
            (std::vector<std::string>{"1|102", "2|7"}));
  EXPECT_EQ(Query("SELECT account, amount FROM ledger ORDER BY seq"),
            (std::vector<std::string>{"1|5", "2|7", "1|-3"}));
  EXPECT_EQ(Query("SELECT DISTINCT note FROM notes"), std::vector<std::string>{"fee ':1 :z"});
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
      {Row{{"k", "a"}, {"v", 0.5}, {"at", Value()}}},   // another type: another prepared plan
      {Row{{"k", "b"}, {"v", int64_t{-4}}, {"at", Value()}}}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 3)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query("SELECT k, total, n, coalesce(at::text, '-') FROM m ORDER BY k"),
            (std::vector<std::string>{"a|2.5|2|2024-05-06", "b|-4|1|-"}));
}

TEST_F(PostgresSinkTest, BadRowGoesToDeadLettersAndTheRestCommits) {
  auto sink = OpenSink(AppendOrders());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {
      {Row{{"id", int64_t{1}}, {"item", "a"}}, PartitionId(2), Offset(40)},
      {Row{{"item", "no id"}}, PartitionId(2), Offset(41)},  // id is NOT NULL
      {Row{{"id", int64_t{3}}, {"item", "c"}}, PartitionId(2), Offset(42)},
      {Row{{"id", "x"}, {"item", "d"}}, PartitionId(2), Offset(43)},  // not an integer
      {Row{{"id", int64_t{5}}, {"item", std::string("n\0l", 3)}}, PartitionId(2), Offset(44)},
      {Row{{"id", int64_t{6}}, {"item", "\xff"}}, PartitionId(2), Offset(45)},  // not UTF-8
      {Row{{"id", int64_t{7}}, {"price", 2.0}}, PartitionId(2), Offset(46)}};
  const std::vector<DeadLetter> unparsed = {
      {PartitionId(2), Offset(47), std::string("\xff\x00{", 3), "not JSON"}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(2, 40, 48)}, rows, unparsed)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query("SELECT id, coalesce(item, '-') FROM orders ORDER BY id"),
            (std::vector<std::string>{"1|a", "3|c", "7|-"}));
  const std::vector<std::string> dead =
      Query("SELECT pipeline, batch, partition, \"offset\", error FROM onceflow_dead_letters "
            "ORDER BY \"offset\"");
  ASSERT_EQ(dead.size(), 5u);
  EXPECT_EQ(dead[0], "p|0|2|41|insert into orders: null value in column \"id\" of relation "
                     "\"orders\" violates not-null constraint");
  EXPECT_EQ(dead[1], "p|0|2|43|insert into orders: invalid input syntax for type integer: \"x\"");
  EXPECT_EQ(dead[2], "p|0|2|44|insert into orders: a string holds a NUL byte, which PostgreSQL "
                     "text cannot hold");
  EXPECT_EQ(dead[3], "p|0|2|45|insert into orders: invalid byte sequence for encoding \"UTF8\": "
                     "0xff");
  EXPECT_EQ(dead[4], "p|0|2|47|not JSON");
  EXPECT_EQ(QueryOne("SELECT encode(raw, 'hex') FROM onceflow_dead_letters WHERE \"offset\" = 41"),
            "7b226974656d223a226e6f206964227d");
  EXPECT_EQ(QueryOne("SELECT encode(raw, 'hex') FROM onceflow_dead_letters WHERE \"offset\" = 47"),
            "ff007b");
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:0:1:2:40-48"});
}

TEST_F(PostgresSinkTest, SeveralTasksInOneCommit) {
  auto sink = OpenSink(Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows0 = Transfers({{1, 10}});
  const std::vector<SinkRow> rows1 = Transfers({{2, 5}, {2, 6}});
  const TaskCommit t0 = Task("p", 0, 0, 1, {R(0, 0, 1)}, rows0);
  ASSERT_EQ(CommitOne(sink.get(), t0), CommitOutcome::kCommitted);
  // Listed out of task order: outcomes come back in the order given.
  const std::vector<TaskCommit> both = {Task("p", 1, 0, 1, {R(1, 0, 2)}, rows1), t0};
  auto outcomes = sink->Commit(both);
  ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
  EXPECT_EQ(*outcomes, (std::vector<CommitOutcome>{CommitOutcome::kCommitted,
                                                   CommitOutcome::kAlreadyCommitted}));
  EXPECT_EQ(Query("SELECT * FROM accounts ORDER BY id"),
            (std::vector<std::string>{"1|110", "2|11"}));
  EXPECT_EQ(Progress(), (std::vector<std::string>{"0:0:1:0:0-1", "1:0:1:1:0-2"}));
  outcomes = sink->Commit(both);
  ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
  EXPECT_EQ(*outcomes, (std::vector<CommitOutcome>{CommitOutcome::kAlreadyCommitted,
                                                   CommitOutcome::kAlreadyCommitted}));
  EXPECT_EQ(QueryOne("SELECT count(*) FROM ledger"), "3");

  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 5, {R(0, 1, 1)}, {})),
            CommitOutcome::kCommitted);
  const std::vector<TaskCommit> mixed = {Task("p", 1, 1, 1, {R(1, 2, 4)}, rows1),
                                         Task("p", 0, 2, 1, {R(0, 1, 2)}, rows0)};
  auto fenced = sink->Commit(mixed);
  ASSERT_FALSE(fenced.has_value());
  EXPECT_EQ(fenced.error().code(), StatusCode::kFenced);
  EXPECT_EQ(QueryOne("SELECT count(*) FROM ledger"), "3");
  EXPECT_EQ(Progress(), (std::vector<std::string>{"0:1:5:0:1-1", "1:0:1:1:0-2"}));
  // No placeholder of a rolled-back commit is left behind.
  EXPECT_EQ(QueryOne("SELECT count(*) FROM onceflow_progress WHERE last_batch < 0"), "0");
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
    EXPECT_NE(sink.error().message().find(c.expected), std::string::npos)
        << sink.error().message();
    EXPECT_EQ(sink.error().message().find("hunter2"), std::string::npos)
        << sink.error().message();
  }
  PostgresSinkOptions uri;
  uri.conninfo = "postgresql://app:hunter2@db.example:5433/bank?sslmode=disable";
  uri.table = "t";
  auto sink = MakePostgresSink(uri);
  ASSERT_TRUE(sink.has_value()) << sink.error().ToString();
  EXPECT_EQ((*sink)->Describe(), "postgres host=db.example port=5433 dbname=bank");
}

TEST_F(PostgresSinkTest, OpenErrorsNameTheTableOrStatement) {
  struct Case {
    PostgresSinkOptions options;
    const char* expected;
  };
  PostgresSinkOptions missing_table = AppendOrders();
  missing_table.init.clear();
  PostgresSinkOptions bad_key;
  bad_key.init = {"CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)"};
  bad_key.mode = SinkMode::kUpsert;
  bad_key.table = "kv";
  bad_key.key = {"nope"};
  PostgresSinkOptions no_unique;
  no_unique.init = {"CREATE TABLE IF NOT EXISTS kv2(k TEXT, v INTEGER)"};
  no_unique.mode = SinkMode::kUpsert;
  no_unique.table = "kv2";
  no_unique.key = {"k"};
  PostgresSinkOptions positional = Bank();
  positional.statements = {"UPDATE accounts SET balance = $1 WHERE id = :account"};
  PostgresSinkOptions commit = Bank();
  commit.statements.push_back("COMMIT");
  PostgresSinkOptions two = Bank();
  two.statements = {"UPDATE accounts SET balance = 1; DELETE FROM ledger"};
  PostgresSinkOptions syntax = Bank();
  syntax.statements = {"UPDATE accounts SET balance = 1", "UPDAT ledger"};
  PostgresSinkOptions no_table = Bank();
  no_table.statements = {"INSERT INTO nowhere VALUES(:a)"};
  PostgresSinkOptions bad_init = AppendOrders();
  bad_init.init.push_back("CREAT TABLE x(a int)");
  const std::vector<Case> cases = {
      {missing_table, "sink.table 'orders' does not exist"},
      {bad_key, "sink.table 'kv' has no column 'nope' (named in sink.key)"},
      {no_unique, "upsert into kv2: there is no unique or exclusion constraint matching the ON "
                  "CONFLICT specification"},
      {positional, "statement 1 (UPDATE accounts SET balance = $1 WHERE id = :account): at byte "
                   "30: parameter $1 is positional"},
      {commit, "statement 3 (COMMIT): transaction control"},
      {two, "cannot insert multiple commands into a prepared statement"},
      {syntax, "statement 2 (UPDAT ledger): syntax error at or near \"UPDAT\""},
      {no_table, "relation \"nowhere\" does not exist"},
      {bad_init, "sink.init statement 2: syntax error at or near \"CREAT\""},
  };
  for (const Case& c : cases) {
    PostgresSinkOptions o = c.options;
    o.conninfo = conninfo_;
    auto sink = MakePostgresSink(o);
    ASSERT_TRUE(sink.has_value()) << sink.error().ToString();
    Status s = (*sink)->Open();
    ASSERT_FALSE(s.ok()) << c.expected;
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << s.message();
    EXPECT_EQ(s.message().rfind((*sink)->Describe(), 0), 0u) << s.message();
  }
}

}  // namespace
}  // namespace onceflow::sink
