// The SQLite sink's additive mode: one write per key per commit, whatever the number of rows and
// tasks adding to it (a trigger counts the writes), and stored values that are not numbers.
#include "sink/sqlite_additive_writer.h"

#include <gtest/gtest.h>

#include "sink/sqlite_sink.h"
#include "sink/sqlite_sink_test_util.h"
#include "testing/sqlite_query.h"

namespace onceflow::sink {
namespace {

using testing::CommitOne;
using testing::R;
using testing::Task;

class SqliteAdditiveWriterTest : public testing::SqliteSinkTestBase {
 protected:
  // counters(k, n), with every insert and update of a row logged in writes(k).
  static SqliteSinkOptions Counters() {
    SqliteSinkOptions o;
    o.init = {"CREATE TABLE IF NOT EXISTS counters(k TEXT PRIMARY KEY, n INTEGER, total REAL)",
              "CREATE TABLE IF NOT EXISTS writes(k TEXT)",
              "CREATE TRIGGER IF NOT EXISTS counted_insert AFTER INSERT ON counters BEGIN "
              "INSERT INTO writes VALUES(new.k); END",
              "CREATE TRIGGER IF NOT EXISTS counted_update AFTER UPDATE ON counters BEGIN "
              "INSERT INTO writes VALUES(new.k); END"};
    o.mode = SinkMode::kAdditive;
    o.add = {{.table = "counters", .key = {{"k", "word"}}, .add = {{"n", "one"}, {"total", "x"}}}};
    return o;
  }
  static std::vector<SinkRow> Words(int n, int64_t first_offset) {
    std::vector<SinkRow> rows;
    for (int i = 0; i < n; ++i) {
      rows.push_back({Row{{"word", i % 3 == 0 ? "a" : "b"}, {"one", int64_t{1}}, {"x", 0.5}},
                      PartitionId(0), Offset(first_offset + i)});
    }
    return rows;
  }
};

TEST_F(SqliteAdditiveWriterTest, OneWritePerKeyPerCommitAcrossRowsAndTasks) {
  auto sink = OpenSink(Counters());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> t0 = Words(300, 0), t1 = Words(30, 0);
  const std::vector<TaskCommit> tasks = {Task("p", 0, 0, 1, {R(0, 0, 300)}, t0),
                                         Task("p", 1, 0, 1, {R(1, 0, 30)}, t1)};
  ASSERT_TRUE(sink->Commit(tasks).has_value());
  EXPECT_EQ(Query(path_, "SELECT k, n, total FROM counters ORDER BY k"),
            (std::vector<std::string>{"a|110|55.0", "b|220|110.0"}));
  EXPECT_EQ(Query(path_, "SELECT k, count(*) FROM writes GROUP BY k ORDER BY k"),
            (std::vector<std::string>{"a|1", "b|1"}));
  // The next batch: again one write per key.
  const std::vector<SinkRow> more = Words(10, 300);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 300, 310)}, more)),
            CommitOutcome::kCommitted);
  EXPECT_EQ(Query(path_, "SELECT k, count(*) FROM writes GROUP BY k ORDER BY k"),
            (std::vector<std::string>{"a|2", "b|2"}));
  EXPECT_EQ(Query(path_, "SELECT k, n FROM counters ORDER BY k"),
            (std::vector<std::string>{"a|114", "b|226"}));
}

TEST_F(SqliteAdditiveWriterTest, AStoredValueThatIsNotANumberRefusesTheBatch) {
  auto sink = OpenSink(Counters());
  ASSERT_NE(sink, nullptr);
  ASSERT_EQ(::onceflow::testing::SqliteExec(path_, "INSERT INTO counters VALUES('a', 'many', 0)"),
            "");
  const std::vector<SinkRow> rows = Words(3, 0);
  auto outcome = CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 3)}, rows));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code(), StatusCode::kAborted);
  EXPECT_NE(outcome.error().message().find("table counters key k=a: the stored value is not a "
                                           "number"),
            std::string::npos)
      << outcome.error().ToString();
  EXPECT_TRUE(Progress().empty());
}

}  // namespace
}  // namespace onceflow::sink
