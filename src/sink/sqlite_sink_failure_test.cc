// The SQLite sink under failure: a fault point's count, a crash half-way through a commit, a
// sink that is down, busy, replaced or not a database. Fault points before and after the commit,
// a damaged progress row and concurrent commits: sql_sink_contract_test.h.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "sink/sqlite_sink.h"
#include "sink/sqlite_sink_test_util.h"
#include "util/file.h"

namespace onceflow::sink {
namespace {

using testing::CommitOne;
using testing::R;
using testing::Task;

class SqliteSinkFailureTest : public testing::SqliteSinkTestBase {
 protected:
  // Non-idempotent on purpose: a batch applied twice shows in the balance.
  static SqliteSinkOptions Bank() {
    SqliteSinkOptions o;
    o.init = {"CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER)",
              "CREATE TABLE IF NOT EXISTS ledger(account INTEGER, amount INTEGER, pad TEXT)",
              "INSERT OR IGNORE INTO accounts VALUES(1, 0)"};
    o.mode = SinkMode::kStatements;
    o.statements = {"INSERT INTO ledger(account, amount, pad) VALUES(:account, :amount, :pad)",
                    "UPDATE accounts SET balance = balance + :amount WHERE id = :account"};
    return o;
  }
  // `n` deposits of 1 into account 1, from offsets first.. of partition 0.
  static std::vector<SinkRow> Deposits(int n, int64_t first, size_t pad = 10) {
    std::vector<SinkRow> rows;
    for (int i = 0; i < n; ++i) {
      rows.push_back(
          {Row{{"account", int64_t{1}}, {"amount", int64_t{1}}, {"pad", std::string(pad, 'x')}},
           PartitionId(0), Offset(first + i)});
    }
    return rows;
  }
  std::string Balance() { return QueryOne(path_, "SELECT balance FROM accounts WHERE id = 1"); }
  std::string LedgerRows() { return QueryOne(path_, "SELECT count(*) FROM ledger"); }
};

TEST_F(SqliteSinkFailureTest, MidSinkWriteFiresOnceHalfWayThroughTheRows) {
  auto sink = OpenSink(Bank());
  ASSERT_NE(sink, nullptr);
  // Hit once per commit: #2 fires in the second commit, not half-way through the first.
  ASSERT_TRUE(faults::Arm("mid_sink_write=throw#2").ok());
  const std::vector<SinkRow> b0 = Deposits(4, 0);
  const std::vector<SinkRow> b1 = Deposits(4, 4);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 4)}, b0)), CommitOutcome::kCommitted);
  EXPECT_FALSE(CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 4, 8)}, b1)).has_value());
  EXPECT_EQ(Balance(), "4");
}

// A real crash (the process exits at the fault point, like kill -9) half-way through a commit
// big enough that SQLite has already spilled uncommitted pages into the WAL.
TEST_F(SqliteSinkFailureTest, CrashHalfWayThroughACommitLeavesNoneOfTheBatch) {
  const int kRows = 40000;  // ~4 MB of ledger: more than SQLite's page cache
  const std::vector<SinkRow> b0 = Deposits(100, 0);
  const std::vector<SinkRow> b1 = Deposits(kRows, 100, 100);
  const TaskCommit t1 = Task("p", 0, 1, 1, {R(0, 100, 100 + kRows)}, b1);
  {
    auto sink = OpenSink(Bank());
    ASSERT_NE(sink, nullptr);
    ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 100)}, b0)),
              CommitOutcome::kCommitted);
  }  // closed: the child opens its own connection, none crosses the fork

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto made = MakeSqliteSink([&] {
      SqliteSinkOptions o = Bank();
      o.path = path_;
      return o;
    }());
    if (!made.has_value() || !(*made)->Open().ok()) ::_exit(2);
    if (!faults::Arm("mid_sink_write=crash").ok()) ::_exit(3);
    auto outcome = CommitOne(made->get(), t1);
    ::_exit(outcome.has_value() ? 0 : 4);  // not reached: the fault point exits first
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), faults::kCrashExitCode);
  // The WAL holds frames of the unfinished transaction; no reader may see them.
  std::error_code ec;
  EXPECT_GT(std::filesystem::file_size(path_ + "-wal", ec), 0u) << ec.message();

  EXPECT_EQ(Balance(), "100");
  EXPECT_EQ(LedgerRows(), "100");
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:0:1:0:0-100"});

  auto sink = OpenSink(Bank());
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(CommitOne(sink.get(), t1), CommitOutcome::kCommitted);
  EXPECT_EQ(CommitOne(sink.get(), t1), CommitOutcome::kAlreadyCommitted);
  EXPECT_EQ(Balance(), std::to_string(100 + kRows));
  EXPECT_EQ(LedgerRows(), std::to_string(100 + kRows));
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:1:1:0:100-" + std::to_string(100 + kRows)});
}

TEST_F(SqliteSinkFailureTest, SinkThatIsDownIsAClearErrorNamingThePath) {
  // As root every directory is writable; /proc refuses new files to everyone.
  for (const std::string& path :
       {dir_ + "/no/such/dir/out.db", std::string("/proc/onceflow-sink-test.db"),
        dir_ + "/out.db/inside-a-file.db"}) {
    if (path.find("inside-a-file") != std::string::npos) {
      ASSERT_NE(OpenSink(Bank()), nullptr);  // creates dir_/out.db as a file
    }
    SqliteSinkOptions o = Bank();
    o.path = path;
    auto sink = MakeSqliteSink(o);
    ASSERT_TRUE(sink.has_value());
    EXPECT_EQ((*sink)->Describe(), "sqlite " + path);
    Status s = (*sink)->Open();
    ASSERT_FALSE(s.ok()) << path;
    EXPECT_TRUE(s.IsIoError()) << s.ToString();
    EXPECT_NE(s.message().find("sqlite " + path + ": cannot open"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("does the directory exist and is it writable?"), std::string::npos)
        << s.message();
  }
}

TEST_F(SqliteSinkFailureTest, NotADatabaseIsCorruption) {
  ASSERT_TRUE(WriteFileAtomically(path_, std::string(4096, 'z')).ok());
  SqliteSinkOptions o = Bank();
  o.path = path_;
  auto sink = MakeSqliteSink(o);
  ASSERT_TRUE(sink.has_value());
  Status s = (*sink)->Open();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(path_), std::string::npos);
}

TEST_F(SqliteSinkFailureTest, DatabaseFileDeletedUnderTheSinkIsRefusedBeforeTheCommit) {
  auto sink = OpenSink(Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> b0 = Deposits(10, 0);
  const std::vector<SinkRow> b1 = Deposits(10, 10);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 10)}, b0)),
            CommitOutcome::kCommitted);
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  // Committing into the unlinked file would succeed and be lost with it.
  auto outcome = CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 10, 20)}, b1));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code(), StatusCode::kAborted);
  EXPECT_FALSE(outcome.error().retryable());
  EXPECT_NE(outcome.error().message().find("sqlite " + path_ +
                                           ": commit batch 1: the database "
                                           "file was deleted since the sink opened it"),
            std::string::npos)
      << outcome.error().message();
  EXPECT_FALSE(PathExists(path_));  // not re-created behind the user's back either
}

TEST_F(SqliteSinkFailureTest, DatabaseFileReplacedUnderTheSinkIsRefusedBeforeTheCommit) {
  auto sink = OpenSink(Bank());
  ASSERT_NE(sink, nullptr);
  const std::vector<SinkRow> b0 = Deposits(10, 0);
  const std::vector<SinkRow> b1 = Deposits(10, 10);
  ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 10)}, b0)),
            CommitOutcome::kCommitted);
  // Deleted with its WAL, and a new database made at the path (as a restarted process would).
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path_ + suffix).c_str());
  ASSERT_NE(OpenSink(Bank()), nullptr);
  auto outcome = CommitOne(sink.get(), Task("p", 0, 1, 1, {R(0, 10, 20)}, b1));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code(), StatusCode::kAborted);
  EXPECT_NE(outcome.error().message().find("the database file was replaced by another file "
                                           "since the sink opened it"),
            std::string::npos)
      << outcome.error().message();
  EXPECT_EQ(LedgerRows(), "0");
  EXPECT_EQ(Progress(), std::vector<std::string>{});
}

TEST_F(SqliteSinkFailureTest, BusyDatabaseIsARetryableBusyAndWritesNothing) {
  SqliteSinkOptions o = Bank();
  o.busy_timeout_ms = 50;
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::vector<SinkRow> b0 = Deposits(5, 0);
  const TaskCommit t0 = Task("p", 0, 0, 1, {R(0, 0, 5)}, b0);
  auto busy = CommitOne(sink.get(), t0);
  ASSERT_FALSE(busy.has_value());
  EXPECT_EQ(busy.error().code(), StatusCode::kBusy) << busy.error().ToString();
  EXPECT_TRUE(busy.error().retryable());
  EXPECT_NE(busy.error().message().find(path_), std::string::npos);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);

  EXPECT_EQ(Balance(), "0");
  EXPECT_EQ(CommitOne(sink.get(), t0), CommitOutcome::kCommitted);
  EXPECT_EQ(Balance(), "5");
}

}  // namespace
}  // namespace onceflow::sink
