// The PostgreSQL sink under failure: a crash at every fault point, a server that is down,
// restarted or that drops the connection, concurrent first commits from two connections. Fault
// points that throw, a damaged progress row and concurrent commits: sql_sink_contract_test.h.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "sink/postgres_sink.h"
#include "sink/postgres_sink_test_util.h"
#include "testing/hang_guard.h"

namespace onceflow::sink {
namespace {

using onceflow::testing::PgQuery;
using onceflow::testing::PrivatePostgres;
using testing::CommitOne;
using testing::R;
using testing::Task;

class PostgresSinkFailureTest : public testing::PostgresSinkTestBase {
 protected:
  // Non-idempotent on purpose: a batch applied twice shows in the balance.
  static PostgresSinkOptions Bank() {
    PostgresSinkOptions o;
    o.init = {"CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance BIGINT)",
              "CREATE TABLE IF NOT EXISTS ledger(account INTEGER, amount INTEGER, pad TEXT)",
              "INSERT INTO accounts VALUES(1, 0) ON CONFLICT DO NOTHING"};
    o.mode = SinkMode::kStatements;
    o.statements = {"INSERT INTO ledger(account, amount, pad) VALUES(:account, :amount, :pad)",
                    "UPDATE accounts SET balance = balance + :amount WHERE id = :account"};
    return o;
  }
  static std::vector<SinkRow> Deposits(int n, int64_t first, size_t pad = 10) {
    std::vector<SinkRow> rows;
    for (int i = 0; i < n; ++i) {
      rows.push_back({Row{{"account", int64_t{1}},
                          {"amount", int64_t{1}},
                          {"pad", std::string(pad, 'x') + std::to_string(first + i)}},
                      PartitionId(0), Offset(first + i)});
    }
    return rows;
  }
  std::string Balance() { return QueryOne("SELECT balance FROM accounts WHERE id = 1"); }
  std::string LedgerRows() { return QueryOne("SELECT count(*) FROM ledger"); }
};

// A real crash (the process exits at the fault point, like kill -9) half-way through a commit
// of many rows: the server rolls the open transaction back when the connection drops.
class PostgresCrashTest : public PostgresSinkFailureTest,
                          public ::testing::WithParamInterface<const char*> {};

TEST_P(PostgresCrashTest, CrashAtTheFaultPointLeavesAllOrNoneOfTheBatch) {
  const int kRows = 5000;
  const std::vector<SinkRow> b0 = Deposits(100, 0);
  const std::vector<SinkRow> b1 = Deposits(kRows, 100, 100);
  const TaskCommit t1 = Task("p", 0, 1, 1, {R(0, 100, 100 + kRows)}, b1);
  {
    auto sink = OpenSink(Bank());
    ASSERT_NE(sink, nullptr);
    ASSERT_EQ(CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 100)}, b0)),
              CommitOutcome::kCommitted);
  }
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    PostgresSinkOptions o = Bank();
    o.conninfo = conninfo_;
    auto made = MakePostgresSink(o);
    if (!made.has_value() || !(*made)->Open().ok()) ::_exit(2);
    if (!faults::Arm(std::string(GetParam()) + "=crash").ok()) ::_exit(3);
    auto outcome = CommitOne(made->get(), t1);
    ::_exit(outcome.has_value() ? 0 : 4);  // not reached: the fault point exits first
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), faults::kCrashExitCode);
  const bool committed = std::string(GetParam()) == "after_sink_commit";
  // The server may not have noticed the dead client yet: wait until its backend is gone.
  const auto give_up = std::chrono::steady_clock::now() + ::onceflow::testing::kHangGuard;
  while (std::chrono::steady_clock::now() < give_up) {
    if (QueryOne("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in%'") == "0") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Balance(), std::to_string(committed ? 100 + kRows : 100));
  EXPECT_EQ(LedgerRows(), std::to_string(committed ? 100 + kRows : 100));

  auto sink = OpenSink(Bank());
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(CommitOne(sink.get(), t1),
            committed ? CommitOutcome::kAlreadyCommitted : CommitOutcome::kCommitted);
  EXPECT_EQ(CommitOne(sink.get(), t1), CommitOutcome::kAlreadyCommitted);
  EXPECT_EQ(Balance(), std::to_string(100 + kRows));
  EXPECT_EQ(LedgerRows(), std::to_string(100 + kRows));
  EXPECT_EQ(Progress(), std::vector<std::string>{"0:1:1:0:100-" + std::to_string(100 + kRows)});
}

INSTANTIATE_TEST_SUITE_P(EveryPoint, PostgresCrashTest,
                         ::testing::Values("mid_sink_write", "before_sink_commit",
                                           "after_sink_commit"));

TEST_F(PostgresSinkFailureTest, SinkThatIsDownIsAClearRetryableErrorWithoutThePassword) {
  PostgresSinkOptions o = Bank();
  // Port 1 on loopback: nothing listens there.
  o.conninfo = "host=127.0.0.1 port=1 dbname=bank user=app password=s3cret-pw connect_timeout=2";
  auto sink = MakePostgresSink(o);
  ASSERT_TRUE(sink.has_value()) << sink.error().ToString();
  EXPECT_EQ((*sink)->Describe(), "postgres host=127.0.0.1 port=1 dbname=bank");
  Status s = (*sink)->Open();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsIoError()) << s.ToString();
  EXPECT_TRUE(s.retryable());
  EXPECT_NE(s.message().find("postgres host=127.0.0.1 port=1 dbname=bank: cannot connect"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("Connection refused"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("s3cret-pw"), std::string::npos) << s.message();
}

TEST_F(PostgresSinkFailureTest, AuthenticationFailureNamesTheUserNotThePassword) {
  PostgresSinkOptions o = Bank();
  // Only the test user has trust auth; another role needs a password it does not have.
  o.conninfo = server_ + " user=nobody_here password=s3cret-pw";
  auto sink = MakePostgresSink(o);
  ASSERT_TRUE(sink.has_value());
  Status s = (*sink)->Open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nobody_here"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("s3cret-pw"), std::string::npos) << s.message();
  EXPECT_EQ((*sink)->Describe().find("s3cret-pw"), std::string::npos);
}

// A server of its own: restarted between batches, stopped during a commit, its backends killed.
TEST_F(PostgresSinkFailureTest, ServerRestartAndLostConnectionsAreSurvivedExactlyOnce) {
  PrivatePostgres server;
  ASSERT_FALSE(server.conninfo().empty()) << "the private server did not start";
  PostgresSinkOptions o = Bank();
  o.conninfo = server.conninfo();
  o.reconnect_timeout_ms = 500;
  auto sink = OpenSink(o);
  ASSERT_NE(sink, nullptr);
  auto balance = [&] {
    auto rows = PgQuery(server.conninfo(), "SELECT balance FROM accounts WHERE id = 1");
    return rows.empty() ? std::string("?") : rows[0];
  };
  int64_t next = 0;
  int batch = 0;
  auto commit = [&](int n) -> Result<CommitOutcome> {
    const std::vector<SinkRow> rows = Deposits(n, next);
    auto r = CommitOne(sink.get(), Task("p", 0, batch, 1, {R(0, next, next + n)}, rows));
    if (r.has_value()) {
      next += n;
      ++batch;
    }
    return r;
  };
  ASSERT_EQ(commit(10), CommitOutcome::kCommitted);

  // 1. A restart between batches: the next commit reconnects by itself.
  ASSERT_TRUE(server.Restart());
  auto after_restart = commit(10);
  ASSERT_TRUE(after_restart.has_value()) << after_restart.error().ToString();
  EXPECT_EQ(balance(), "20");

  // 2. The server is down: a retryable IoError after the reconnect timeout, then, once it is
  // back, the same batch commits once.
  ASSERT_TRUE(server.Stop());
  auto down = commit(10);
  ASSERT_FALSE(down.has_value());
  EXPECT_TRUE(down.error().IsIoError()) << down.error().ToString();
  EXPECT_TRUE(down.error().retryable());
  EXPECT_NE(down.error().message().find("reconnecting for 500 ms"), std::string::npos)
      << down.error().message();
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(commit(10), CommitOutcome::kCommitted);
  EXPECT_EQ(balance(), "30");

  // 3. The backend is killed in the middle of a commit: retryable, nothing of it stays, and
  // the retry commits once.
  ASSERT_TRUE(faults::Arm("mid_sink_write=pause#1").ok());
  std::thread killer([&] {
    faults::WaitPaused("mid_sink_write");
    PgQuery(server.conninfo(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                               "pid <> pg_backend_pid() AND backend_type = 'client backend'");
    faults::Release("mid_sink_write");
  });
  auto killed = commit(50);
  killer.join();
  faults::DisarmAll();
  ASSERT_FALSE(killed.has_value());
  EXPECT_TRUE(killed.error().retryable()) << killed.error().ToString();
  EXPECT_NE(killed.error().message().find("the connection is lost"), std::string::npos)
      << killed.error().message();
  EXPECT_EQ(balance(), "30");
  ASSERT_EQ(commit(50), CommitOutcome::kCommitted);
  EXPECT_EQ(balance(), "80");
  auto count = PgQuery(server.conninfo(), "SELECT count(*), count(DISTINCT pad) FROM ledger");
  EXPECT_EQ(count, std::vector<std::string>{"80|80"});
}

// Two processes' sinks (two connections) race to commit the same tasks' first batches, one as
// a zombie of an older epoch: the progress row's placeholder and FOR UPDATE serialise them, so
// each batch is applied exactly once and the zombie never overwrites the newer epoch.
TEST_F(PostgresSinkFailureTest, RacingFirstCommitsFromTwoConnectionsApplyEachBatchOnce) {
  auto a = OpenSink(Bank());
  auto b = OpenSink(Bank());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kTasks = 40;
  std::vector<std::vector<SinkRow>> rows;
  for (int task = 0; task < kTasks; ++task) rows.push_back(Deposits(5, task * 100));
  std::vector<std::string> outcomes(2 * kTasks);
  auto run = [&](Sink* sink, int64_t epoch, int slot) {
    for (int task = 0; task < kTasks; ++task) {
      auto r = CommitOne(sink, Task("p", task, 0, epoch, {R(task, 0, 5)}, rows[task]));
      outcomes[slot * kTasks + task] =
          r.has_value() ? (*r == CommitOutcome::kCommitted ? "committed" : "already")
                        : std::string(StatusCodeName(r.error().code()));
    }
  };
  std::thread ta(run, a.get(), 1, 0);
  std::thread tb(run, b.get(), 2, 1);
  ta.join();
  tb.join();
  int committed = 0;
  for (int task = 0; task < kTasks; ++task) {
    const std::string& old_epoch = outcomes[task];
    const std::string& new_epoch = outcomes[kTasks + task];
    committed += (old_epoch == "committed") + (new_epoch == "committed");
    // The newer epoch either commits or finds the batch committed; the older one is fenced
    // when the newer came first.
    EXPECT_TRUE(new_epoch == "committed" || new_epoch == "already") << task << " " << new_epoch;
    EXPECT_TRUE(old_epoch == "committed" || old_epoch == "fenced") << task << " " << old_epoch;
  }
  EXPECT_EQ(committed, kTasks);
  EXPECT_EQ(Balance(), std::to_string(5 * kTasks));
  EXPECT_EQ(LedgerRows(), std::to_string(5 * kTasks));
}

}  // namespace
}  // namespace onceflow::sink
