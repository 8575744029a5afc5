// The SQLite sink's own behaviour: its modes' exact table contents and types, option and open
// errors, the WAL off the commit path. The commit contract it shares with PostgreSQL
// (duplicates, fencing, claims, gaps, dead letters) is sql_sink_contract_test.h.
#include "sink/sqlite_sink.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "sink/sqlite_checkpointer.h"

#include "sink/sqlite_sink_test_util.h"

namespace onceflow::sink {
namespace {

using testing::CommitOne;
using testing::R;
using testing::Task;

class SqliteSinkTest : public testing::SqliteSinkTestBase {
 protected:
  static SqliteSinkOptions AppendOrders() {
    SqliteSinkOptions o;
    o.init = {"CREATE TABLE IF NOT EXISTS orders(id INTEGER NOT NULL, item TEXT, price REAL, "
              "paid INTEGER, note TEXT)"};
    o.mode = SinkMode::kAppend;
    o.table = "orders";
    return o;
  }
  static SqliteSinkOptions Bank() {
    SqliteSinkOptions o;
    o.init = {"CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, "
              "balance INTEGER NOT NULL CHECK(balance >= 0))",
              "CREATE TABLE IF NOT EXISTS ledger(account INTEGER NOT NULL, amount INTEGER)",
              "INSERT OR IGNORE INTO accounts VALUES(1, 100), (2, 0)"};
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

TEST_F(SqliteSinkTest, AppendBindsFieldsToColumnsByName) {
  auto sink = OpenSink(AppendOrders());
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->Describe(), "sqlite " + path_);
  const std::vector<SinkRow> rows = {
      {Row{{"id", int64_t{1}}, {"item", "tea"}, {"price", 2.5}, {"paid", true}, {"note", "x"}},
       PartitionId(0), Offset(10)},
      // Another field order, an extra field, a missing column and an explicit null.
      {Row{{"price", int64_t{3}}, {"extra", "ignored"}, {"id", int64_t{2}}, {"paid", false},
           {"item", Value()}},
       PartitionId(0), Offset(11)},
  };
  auto outcome = CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 10, 12)}, rows));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(*outcome, CommitOutcome::kCommitted);
  EXPECT_EQ(Query(path_, "SELECT id, item, price, paid, note, typeof(price) FROM orders "
                         "ORDER BY rowid"),
            (std::vector<std::string>{"1|tea|2.5|1|x|real", "2|NULL|3.0|0|NULL|real"}));
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:0:1:0:10-12"});

  auto progress = sink->ReadProgress("p");
  ASSERT_TRUE(progress.has_value()) << progress.error().ToString();
  ASSERT_EQ(progress->size(), 1u);
  EXPECT_EQ(progress->at(0).last_batch, BatchId(0));
  EXPECT_EQ(progress->at(0).epoch, Epoch(1));
  EXPECT_EQ(progress->at(0).ranges, std::vector<TaskRange>{R(0, 10, 12)});
  EXPECT_TRUE(sink->ReadProgress("other")->empty());
}

TEST_F(SqliteSinkTest, UpsertUpdatesRowsByKey) {
  SqliteSinkOptions o;
  o.init = {"CREATE TABLE totals(region TEXT, day INTEGER, amount REAL, n INTEGER, "
            "PRIMARY KEY(region, day))"};
  o.mode = SinkMode::kUpsert;
  o.table = "totals";
  o.key = {"region", "day"};
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> b0 = {
      {Row{{"region", "eu"}, {"day", int64_t{1}}, {"amount", 1.5}, {"n", int64_t{1}}}},
      {Row{{"region", "us"}, {"day", int64_t{1}}, {"amount", 2.0}, {"n", int64_t{1}}}}};
  const std::vector<SinkRow> b1 = {
      {Row{{"region", "eu"}, {"day", int64_t{1}}, {"amount", 4.0}, {"n", int64_t{2}}}},
      {Row{{"region", "eu"}, {"day", int64_t{2}}, {"amount", 7.0}, {"n", int64_t{1}}}}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 2)}, b0)),
            CommitOutcome::kCommitted);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 2, 4)}, b1)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query(path_, "SELECT * FROM totals ORDER BY region, day"),
            (std::vector<std::string>{"eu|1|4.0|2", "eu|2|7.0|1", "us|1|2.0|1"}));
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:1:1:0:2-4"});
}

// Upsert writes a batch's rows in key order (for the index's locality): the later of two rows
// with one key must still win, and row errors must still name their own rows, in row order.
TEST_F(SqliteSinkTest, UpsertInKeyOrderKeepsTheLastRowPerKeyAndEachRowsError) {
  SqliteSinkOptions o;
  o.init = {"CREATE TABLE kv(k, j, v INTEGER, PRIMARY KEY(k, j))"};
  o.mode = SinkMode::kUpsert;
  o.table = "kv";
  o.key = {"k", "j"};
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  auto row = [](Row r, int64_t offset) { return SinkRow{std::move(r), PartitionId(0), Offset(offset)}; };
  const std::vector<SinkRow> rows = {
      row(Row{{"k", "b"}, {"j", int64_t{1}}, {"v", int64_t{1}}}, 0),
      row(Row{{"k", "a"}, {"j", int64_t{2}}, {"v", int64_t{2}}}, 1),
      row(Row{{"k", "a"}}, 2),  // no j
      row(Row{{"k", "b"}, {"j", int64_t{1}}, {"v", int64_t{4}}}, 3),
      row(Row{{"k", "a "}, {"j", int64_t{-1}}, {"v", int64_t{5}}}, 4),
      row(Row{{"k", "a"}, {"j", int64_t{2}}, {"v", int64_t{6}}}, 5),
      row(Row{{"k", int64_t{7}}, {"j", 0.5}, {"v", int64_t{7}}}, 6),
      row(Row{{"j", int64_t{1}}, {"v", int64_t{3}}}, 7),  // no k: sorts first
      row(Row{{"k", "b"}, {"j", int64_t{1}}, {"v", int64_t{8}}}, 8),
      row(Row{{"k", int64_t{7}}, {"j", 0.5}, {"v", int64_t{9}}}, 9)};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 10)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query(path_, "SELECT k, j, v FROM kv ORDER BY v"),
            (std::vector<std::string>{"a |-1|5", "a|2|6", "b|1|8", "7|0.5|9"}));
  EXPECT_EQ(Query(path_, "SELECT \"offset\", error FROM onceflow_dead_letters ORDER BY rowid"),
            (std::vector<std::string>{
                "2|upsert into kv: the row has no field 'j' for the key column",
                "7|upsert into kv: the row has no field 'k' for the key column"}));
}

TEST_F(SqliteSinkTest, StatementsBindNamedParametersPerRow) {
  SqliteSinkOptions o = Bank();
  // The same parameter twice, and the other parameter prefixes.
  o.statements.push_back("UPDATE accounts SET balance = balance - :amount + @amount + $fee - $fee "
                         "WHERE id = :account");
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  std::vector<SinkRow> rows = Transfers({{1, 5}, {2, 7}, {1, -3}});
  for (SinkRow& r : rows) r.row.Set("fee", int64_t{1});
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 3)}, rows)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query(path_, "SELECT * FROM accounts ORDER BY id"),
            (std::vector<std::string>{"1|102", "2|7"}));
  EXPECT_EQ(Query(path_, "SELECT * FROM ledger ORDER BY rowid"),
            (std::vector<std::string>{"1|5", "2|7", "1|-3"}));
}

TEST_F(SqliteSinkTest, BadRowGoesToDeadLettersAndTheRestCommits) {
  auto sink = OpenSink(AppendOrders());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows = {
      {Row{{"id", int64_t{1}}, {"item", "a"}}, PartitionId(2), Offset(40)},
      {Row{{"item", "no id"}}, PartitionId(2), Offset(41)},  // id is NOT NULL
      {Row{{"id", int64_t{3}}, {"item", "c"}}, PartitionId(2), Offset(42)}};
  const std::vector<DeadLetter> unparsed = {
      {PartitionId(2), Offset(43), std::string("\xff\x00{", 3), "not JSON"}};
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(2, 40, 44)}, rows, unparsed)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query(path_, "SELECT id, item FROM orders ORDER BY rowid"),
            (std::vector<std::string>{"1|a", "3|c"}));
  EXPECT_EQ(
      Query(path_, "SELECT pipeline, batch, partition, \"offset\", typeof(raw), hex(raw), error "
                   "FROM onceflow_dead_letters ORDER BY \"offset\""),
      (std::vector<std::string>{
          "p|0|2|41|text|7B226974656D223A226E6F206964227D|insert into orders: NOT NULL "
          "constraint failed: orders.id",
          "p|0|2|43|blob|FF007B|not JSON"}));
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:0:1:2:40-44"});
}

TEST_F(SqliteSinkTest, SeveralTasksInOneCommit) {
  auto sink = OpenSink(Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> rows0 = Transfers({{1, 10}});
  const std::vector<SinkRow> rows1 = Transfers({{2, 5}, {2, 6}});
  const TaskCommit t0 = Task("p", 0, 0, 1, {R(0, 0, 1)}, rows0);
  ASSERT_EQ(CommitOne(sink.get(), t0), CommitOutcome::kCommitted);
  const std::vector<TaskCommit> both = {t0, Task("p", 1, 0, 1, {R(1, 0, 2)}, rows1)};
  auto outcomes = sink->Commit(both);
  ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
  EXPECT_EQ(*outcomes, (std::vector<CommitOutcome>{CommitOutcome::kAlreadyCommitted,
                                                   CommitOutcome::kCommitted}));
  EXPECT_EQ(Query(path_, "SELECT * FROM accounts ORDER BY id"),
            (std::vector<std::string>{"1|110", "2|11"}));
  EXPECT_EQ(Progress(), (std::vector<std::string>{"0:0:1:0:0-1", "1:0:1:1:0-2"}));
  // All already committed: nothing changes, the outcomes say so.
  outcomes = sink->Commit(both);
  ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
  EXPECT_EQ(*outcomes, (std::vector<CommitOutcome>{CommitOutcome::kAlreadyCommitted,
                                                   CommitOutcome::kAlreadyCommitted}));
  EXPECT_EQ(QueryOne(path_, "SELECT count(*) FROM ledger"), "3");

  // One fenced task fails the whole commit: the other task's rows are not written either.
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 5, {R(0, 1, 1)}, {})),
            CommitOutcome::kCommitted);
  const std::vector<TaskCommit> mixed = {Task("p", 1, 1, 1, {R(1, 2, 4)}, rows1),
                                         Task("p", 0, 2, 1, {R(0, 1, 2)}, rows0)};
  auto fenced = sink->Commit(mixed);
  ASSERT_FALSE(fenced.has_value());
  EXPECT_EQ(fenced.error().code(), StatusCode::kFenced);
  EXPECT_EQ(QueryOne(path_, "SELECT count(*) FROM ledger"), "3");
  EXPECT_EQ(Progress(), (std::vector<std::string>{"0:1:5:0:1-1", "1:0:1:1:0-2"}));
}

TEST_F(SqliteSinkTest, OptionErrorsNameTheOption) {
  struct Case {
    SqliteSinkOptions options;
    const char* expected;
  };
  auto with = [](auto change) {
    SqliteSinkOptions o;
    o.path = "/tmp/x.db";
    change(o);
    return o;
  };
  const std::vector<Case> cases = {
      {with([](SqliteSinkOptions& o) { o.path = ""; }), "sink.path is required"},
      {with([](SqliteSinkOptions&) {}), "sink.table is required in append mode"},
      {with([](SqliteSinkOptions& o) { o.table = "orders; DROP TABLE x"; }),
       "sink.table 'orders; DROP TABLE x' is not a plain identifier"},
      {with([](SqliteSinkOptions& o) {
         o.mode = SinkMode::kUpsert;
         o.table = "t";
       }),
       "sink.key (the conflict columns) is required in upsert mode"},
      {with([](SqliteSinkOptions& o) {
         o.mode = SinkMode::kUpsert;
         o.table = "t";
         o.key = {"a", "b c"};
       }),
       "sink.key column 'b c' is not a plain identifier"},
      {with([](SqliteSinkOptions& o) { o.mode = SinkMode::kStatements; }),
       "sink.statements is required in statements mode"},
      {with([](SqliteSinkOptions& o) {
         o.mode = SinkMode::kStatements;
         o.statements = {"SELECT 1", " ; "};
       }),
       "sink.statements: statement 2 is empty"},
  };
  for (const Case& c : cases) {
    auto sink = MakeSqliteSink(c.options);
    ASSERT_FALSE(sink.has_value()) << c.expected;
    EXPECT_TRUE(sink.error().IsInvalidArgument());
    EXPECT_NE(sink.error().message().find(c.expected), std::string::npos)
        << sink.error().message();
  }
}

TEST_F(SqliteSinkTest, OpenErrorsNameTheTableOrStatement) {
  struct Case {
    SqliteSinkOptions options;
    const char* expected;
  };
  SqliteSinkOptions missing_table = AppendOrders();
  missing_table.init.clear();
  SqliteSinkOptions bad_key;
  bad_key.init = {"CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)"};
  bad_key.mode = SinkMode::kUpsert;
  bad_key.table = "kv";
  bad_key.key = {"nope"};
  SqliteSinkOptions positional = Bank();
  positional.statements = {"UPDATE accounts SET balance = ? WHERE id = :account"};
  SqliteSinkOptions commit = Bank();
  commit.statements.push_back("COMMIT");
  SqliteSinkOptions two = Bank();
  two.statements = {"UPDATE accounts SET balance = 1; DELETE FROM ledger"};
  SqliteSinkOptions syntax = Bank();
  syntax.statements = {"UPDATE accounts SET balance = 1", "UPDAT ledger"};
  SqliteSinkOptions bad_init = AppendOrders();
  bad_init.init.push_back("CREAT TABLE x(a)");
  const std::vector<Case> cases = {
      {missing_table, "sink.table 'orders' does not exist"},
      {bad_key, "sink.table 'kv' has no column 'nope' (named in sink.key)"},
      {positional, "parameter 1 is positional (?)"},
      {commit, "statement 3 (COMMIT): transaction control"},
      {two, "holds more than one SQL statement"},
      {syntax, "statement 2 (UPDAT ledger): near \"UPDAT\": syntax error"},
      {bad_init, "sink.init statement 2: near \"CREAT\": syntax error"},
  };
  for (const Case& c : cases) {
    SqliteSinkOptions o = c.options;
    o.path = path_;
    auto sink = MakeSqliteSink(o);
    ASSERT_TRUE(sink.has_value()) << sink.error().ToString();
    Status s = (*sink)->Open();
    ASSERT_FALSE(s.ok()) << c.expected;
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(path_), std::string::npos) << s.message();
  }
}

// The WAL is copied into the database file by the sink's checkpoint thread, not by the
// committing connection: the database file grows after a commit without another commit, and
// once it has, the next commit reuses the WAL from its start instead of growing it.
TEST_F(SqliteSinkTest, WalIsCheckpointedOffTheCommitPath) {
  auto sink = OpenSink(AppendOrders());
  ASSERT_NE(sink, nullptr);
  const std::string note(200, 'n');
  auto commit_batch = [&](int64_t batch) {
    std::vector<SinkRow> rows;
    for (int64_t i = 0; i < 10000; ++i) {
      const int64_t offset = batch * 10000 + i;
      rows.push_back({Row{{"id", offset}, {"note", note}}, PartitionId(0), Offset(offset)});
    }
    auto outcome = CommitOne(sink.get(), Task("p", 0, batch, 1,
                                              {R(0, batch * 10000, (batch + 1) * 10000)}, rows));
    ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
    EXPECT_EQ(*outcome, CommitOutcome::kCommitted);
  };
  auto size_of = [](const std::string& file) {
    struct stat st {};
    return ::stat(file.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : int64_t{-1};
  };
  // Waits (the checkpoint is asynchronous) until the background thread has completed a checkpoint
  // after `before`: the effect, not a time. A hang here is ctest's timeout, not a flaky figure.
  auto wait_for_checkpoint_after = [](int64_t before) {
    while (SqliteCheckpointer::CompletedInProcess() <= before) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  const int64_t before_0 = SqliteCheckpointer::CompletedInProcess();
  commit_batch(0);
  const int64_t wal = size_of(path_ + "-wal");
  ASSERT_GT(wal, 2'000'000);  // 10,000 rows of over 200 bytes: the commit did not checkpoint
  wait_for_checkpoint_after(before_0);
  EXPECT_GE(size_of(path_), 2'000'000);  // the background thread copied the frames
  // Commit 1 starts the WAL afresh (all its frames were copied): it stays the size it was.
  const int64_t before_1 = SqliteCheckpointer::CompletedInProcess();
  commit_batch(1);
  EXPECT_LT(size_of(path_ + "-wal"), wal + wal / 4);
  wait_for_checkpoint_after(before_1);
  EXPECT_GE(size_of(path_), 4'000'000);
  EXPECT_EQ(QueryOne(path_, "SELECT COUNT(*) || ':' || COUNT(DISTINCT id) || ':' || SUM(id) "
                            "FROM orders"),
            "20000:20000:199990000");
}

}  // namespace
}  // namespace onceflow::sink
