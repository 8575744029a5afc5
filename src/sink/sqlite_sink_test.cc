// The SQLite sink's own behaviour: upsert in key order, option errors, the WAL off the commit
// path. The commit contract and the modes it shares with PostgreSQL (duplicates, fencing,
// claims, gaps, dead letters, binding by name) are sql_sink_contract_test.h.
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
};

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
  auto row = [](Row r, int64_t offset) {
    return SinkRow{std::move(r), PartitionId(0), Offset(offset)};
  };
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
  EXPECT_EQ(
      Query(path_, "SELECT \"offset\", error FROM onceflow_dead_letters ORDER BY rowid"),
      (std::vector<std::string>{"2|upsert into kv: the row has no field 'j' for the key column",
                                "7|upsert into kv: the row has no field 'k' for the key column"}));
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
    EXPECT_NE(sink.error().message().find(c.expected), std::string::npos) << sink.error().message();
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
    auto outcome = CommitOne(
        sink.get(), Task("p", 0, batch, 1, {R(0, batch * 10000, (batch + 1) * 10000)}, rows));
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
