// The SQLite sink under simulated power loss, through the VFS shim (sqlite_tracked_vfs.h): a
// commit that returned survives, nothing half-applied appears, and the shim forgets what SQLite
// did not sync (a commit with synchronous=NORMAL is lost: the shim can tell the settings apart).
// Its own binary: power-loss tracking and the shim, once on, stay on for the whole process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "sink/sqlite_checkpointer.h"
#include "sink/sqlite_db.h"
#include "sink/sqlite_sink_test_util.h"
#include "sink/sqlite_tracked_vfs.h"
#include "testing/fork_child.h"
#include "util/fault_points.h"
#include "util/power_loss.h"

namespace onceflow::sink {
namespace {

using ::onceflow::testing::InChild;
using testing::R;
using testing::Task;

constexpr int kBatches = 6;
constexpr int kRowsPerBatch = 40;

// Appends a line to `path` past the tracker (plain write, never forgotten): what the child was
// told is committed.
void Acknowledge(const std::string& path, int batch) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const std::string line = std::to_string(batch) + "\n";
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

int LastAcknowledged(const std::string& path) {
  int last = -1;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    int b = 0;
    while (std::fscanf(f, "%d", &b) == 1) last = b;
    std::fclose(f);
  }
  return last;
}

class SqlitePowerLossTest : public testing::SqliteSinkTestBase {
 protected:
  // The databases are in /dev/shm when there is one: the power loss is simulated, so the disk's
  // real fsyncs would only cost time.
  void SetUp() override {
    SqliteSinkTestBase::SetUp();
    char shm[] = "/dev/shm/onceflow-sqlite-power-loss-XXXXXX";
    if (::mkdtemp(shm) != nullptr) shm_ = dir_ = shm;
    path_ = dir_ + "/out.db";
  }
  void TearDown() override {
    if (!shm_.empty()) std::filesystem::remove_all(shm_);
    SqliteSinkTestBase::TearDown();
  }

  static SqliteSinkOptions Items() {
    SqliteSinkOptions o;
    o.init = {"CREATE TABLE IF NOT EXISTS items(id INTEGER NOT NULL, batch INTEGER)"};
    o.mode = SinkMode::kAppend;
    o.table = "items";
    return o;
  }

  // In a child: arms `spec`, commits batches 0..kBatches-1 of task 0 (kRowsPerBatch rows each,
  // ids in order), acknowledging each in `acks`. Exit 0 after the last, 87 at the power loss.
  int CommitBatchesInChild(const std::string& spec, const std::string& acks) {
    return InChild([&] {
      if (!faults::Arm(spec).ok()) return 3;
      auto sink = OpenSink(Items());
      if (sink == nullptr) return 4;
      for (int b = 0; b < kBatches; ++b) {
        std::vector<SinkRow> rows;
        for (int i = 0; i < kRowsPerBatch; ++i) {
          const int64_t id = int64_t{b} * kRowsPerBatch + i;
          rows.push_back({Row{{"id", id}, {"batch", int64_t{b}}}, PartitionId(0), Offset(id)});
        }
        auto outcome = testing::CommitOne(
            sink.get(),
            Task("p", 0, b, 1, {R(0, b * kRowsPerBatch, (b + 1) * kRowsPerBatch)}, rows));
        if (!outcome.has_value() || *outcome != CommitOutcome::kCommitted) return 5;
        Acknowledge(acks, b);
      }
      return 0;
    });
  }

  // A fresh database (dir_/out-<n>.db) for the next run.
  void NewDatabase(int n) { path_ = dir_ + "/out-" + std::to_string(n) + ".db"; }

  // Power loss at the k-th hit of `point` for k = 1, 2, ... until a run ends before it; the exact
  // check after each. Returns how many runs lost power.
  int PowerLossAtEvery(const std::string& point) {
    int losses = 0;
    for (int k = 1;; ++k) {
      SCOPED_TRACE(point + "=power_loss#" + std::to_string(k));
      NewDatabase(k);
      const std::string acks = path_ + ".acks";
      const int code = CommitBatchesInChild(point + "=power_loss#" + std::to_string(k), acks);
      EXPECT_TRUE(code == 0 || code == power_loss::kExitCode) << "exit " << code;
      EXPECT_EQ(CheckExact(LastAcknowledged(acks)), "");
      if (code != power_loss::kExitCode || k >= 2000) break;  // k is past the run's last hit
      ++losses;
    }
    return losses;
  }

  // Reopens the sink as a restart would (it recovers the database, or creates it again if the
  // loss took its creation), then: "" if the database holds exactly batches 0..last (rows and
  // progress row) with last at least `acknowledged` and at most one more, else what is wrong.
  std::string CheckExact(int acknowledged) {
    if (OpenSink(Items()) == nullptr) return "the sink does not open again";
    if (std::string ok = QueryOne(path_, "PRAGMA integrity_check"); ok != "ok") {
      return "integrity_check: " + ok;
    }
    const std::vector<std::string> progress = Progress();
    int last = -1;
    if (!progress.empty()) last = std::stoi(progress[0].substr(progress[0].find(':') + 1));
    if (last < acknowledged || last > acknowledged + 1) {
      return "progress row at batch " + std::to_string(last) + ", acknowledged " +
             std::to_string(acknowledged);
    }
    const std::vector<std::string> ids = Query(path_, "SELECT id FROM items ORDER BY rowid");
    const size_t want = static_cast<size_t>(last + 1) * kRowsPerBatch;
    if (ids.size() != want) {
      return std::to_string(ids.size()) + " rows for batches 0.." + std::to_string(last);
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] != std::to_string(i)) return "row " + std::to_string(i) + " is id " + ids[i];
    }
    return "";
  }

  std::string shm_;  // the directory in /dev/shm, if made
};

// The shim must tell a durable commit from one SQLite left in the page cache: with
// synchronous=NORMAL a WAL commit is not synced (it is at the next checkpoint), and a power loss
// takes it; with FULL (the sink's setting) it stays. If the shim forgot nothing, or everything,
// one of the two would fail.
TEST_F(SqlitePowerLossTest, WalCommitSurvivesWithSynchronousFullAndNotWithNormal) {
  power_loss::Enable();
  InstallTrackedVfsIfWanted();
  ASSERT_TRUE(TrackedVfsInstalled());
  ASSERT_TRUE(power_loss::Forget().ok());
  auto exec = [&](const std::string& sync, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    const std::string all = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + sync + "; " + sql;
    EXPECT_EQ(sqlite3_exec(db, all.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  };
  exec("FULL", "CREATE TABLE t(v); INSERT INTO t VALUES ('full')");
  exec("NORMAL", "INSERT INTO t VALUES ('normal')");
  EXPECT_EQ(Query(path_, "SELECT v FROM t ORDER BY rowid"),
            (std::vector<std::string>{"full", "normal"}));
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Query(path_, "SELECT v FROM t ORDER BY rowid"), (std::vector<std::string>{"full"}));
  exec("FULL", "INSERT INTO t VALUES ('full again')");
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Query(path_, "SELECT v FROM t ORDER BY rowid"),
            (std::vector<std::string>{"full", "full again"}));
}

// A power loss at every write and at every sync SQLite makes (the sink's and its background
// checkpointer's) while the sink commits batch after batch: every batch whose commit returned is
// there after the restart, the one in flight is there whole or not at all, and the file is sound.
TEST_F(SqlitePowerLossTest, CommittedBatchesSurviveAPowerLossAtEveryWrite) {
  EXPECT_GT(PowerLossAtEvery("file_write"), kBatches);
}

TEST_F(SqlitePowerLossTest, CommittedBatchesSurviveAPowerLossAtEverySync) {
  EXPECT_GE(PowerLossAtEvery("file_sync"), kBatches);
}

// The sink's background checkpointer copies the WAL into the database file (PASSIVE, on its own
// connection): a power loss at any write or sync of that copy, or of the commits that restart
// the WAL after it, loses no committed transaction.
TEST_F(SqlitePowerLossTest, PowerLossInsideAWalCheckpointLosesNoCommit) {
  constexpr int kCommits = 8;
  for (const std::string point : {"file_write", "file_sync"}) {
    for (int k = 1;; ++k) {
      SCOPED_TRACE(point + "=power_loss#" + std::to_string(k));
      NewDatabase((point == "file_write" ? 1000 : 2000) + k);
      const std::string acks = path_ + ".acks";
      const int code = InChild([&] {
        power_loss::Enable();
        auto db = SqliteDb::Open(path_, 1000);  // the sink's settings: WAL, synchronous=FULL
        if (!db.has_value()) return 3;
        sqlite3_wal_autocheckpoint((*db)->handle(), 0);
        if (!(*db)->Exec("CREATE TABLE t(v INTEGER)", "create").ok()) return 4;
        for (int i = 0; i < kCommits / 2; ++i) {
          if (!(*db)->Exec("INSERT INTO t VALUES (" + std::to_string(i) + ")", "insert").ok()) {
            return 5;
          }
          Acknowledge(acks, i);
        }
        // From here on: the k-th write or sync of the checkpoint and of the commits after it.
        if (!faults::Arm(point + "=power_loss#" + std::to_string(k)).ok()) return 6;
        if (sqlite3_wal_checkpoint_v2((*db)->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                      nullptr) != SQLITE_OK) {
          return 7;
        }
        for (int i = kCommits / 2; i < kCommits; ++i) {
          if (!(*db)->Exec("INSERT INTO t VALUES (" + std::to_string(i) + ")", "insert").ok()) {
            return 8;
          }
          Acknowledge(acks, i);
        }
        return 0;
      });
      ASSERT_TRUE(code == 0 || code == power_loss::kExitCode) << "exit " << code;
      const int acknowledged = LastAcknowledged(acks);
      EXPECT_EQ(QueryOne(path_, "PRAGMA integrity_check"), "ok");
      const std::vector<std::string> rows = Query(path_, "SELECT v FROM t ORDER BY rowid");
      ASSERT_GE(static_cast<int>(rows.size()), acknowledged + 1);
      ASSERT_LE(static_cast<int>(rows.size()), acknowledged + 2);
      for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], std::to_string(i));
      if (code == 0 || k >= 200) break;
    }
  }
}

// eio and enospc reach SQLite as its I/O errors: the commit fails, retryable, nothing of it is
// applied, and the next commit of the same batch succeeds.
TEST_F(SqlitePowerLossTest, InjectedEioAndEnospcFailTheCommitAndARetryCommitsIt) {
  for (const std::string spec : {"file_sync=eio#1", "file_write=enospc#1"}) {
    SCOPED_TRACE(spec);
    NewDatabase(spec == "file_sync=eio#1" ? 100 : 101);
    // Armed (never firing) before the open, so that the sink's connection goes through the shim.
    ASSERT_TRUE(faults::Arm("file_sync=eio@0").ok());
    auto sink = OpenSink(Items());
    ASSERT_NE(sink, nullptr);
    ASSERT_TRUE(faults::Arm(spec).ok());
    const std::vector<SinkRow> rows = {
        {Row{{"id", int64_t{0}}, {"batch", int64_t{0}}}, PartitionId(0), Offset(0)}};
    auto failed = testing::CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 1)}, rows));
    ASSERT_FALSE(failed.has_value());
    EXPECT_TRUE(failed.error().retryable()) << failed.error().ToString();
    EXPECT_EQ(Query(path_, "SELECT COUNT(*) FROM items"), (std::vector<std::string>{"0"}));
    auto retried = testing::CommitOne(sink.get(), Task("p", 0, 0, 1, {R(0, 0, 1)}, rows));
    ASSERT_TRUE(retried.has_value()) << retried.error().ToString();
    EXPECT_EQ(*retried, CommitOutcome::kCommitted);
    EXPECT_EQ(Query(path_, "SELECT id FROM items"), (std::vector<std::string>{"0"}));
    faults::DisarmAll();
  }
}

// fsyncgate at the background checkpoint: a sync of the database file that fails is reported
// (the sink logs it), never swallowed; the WAL stays authoritative, so nothing committed is
// lost, and the checkpoint succeeds once syncs do.
TEST_F(SqlitePowerLossTest, AFailedCheckpointSyncIsReportedAndLosesNoCommit) {
  NewDatabase(3001);
  const int code = InChild([&] {
    power_loss::Enable();
    auto db = SqliteDb::Open(path_, 1000);
    if (!db.has_value()) return 3;
    sqlite3_wal_autocheckpoint((*db)->handle(), 0);
    if (!(*db)->Exec("CREATE TABLE t(v INTEGER)", "create").ok()) return 4;
    for (int i = 0; i < 4; ++i) {
      if (!(*db)->Exec("INSERT INTO t VALUES (" + std::to_string(i) + ")", "insert").ok()) {
        return 5;
      }
    }
    auto checkpointer = SqliteCheckpointer::Start(path_, 1000);
    if (!checkpointer.has_value()) return 6;
    if (!faults::Arm("file_sync=eio").ok()) return 7;  // every sync fails from here
    (*checkpointer)->Wake();
    // Waits for the effect (a guard against a hang, not a measure of speed).
    const auto guard = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    std::string failure;
    while (failure.empty() && std::chrono::steady_clock::now() < guard) {
      failure = (*checkpointer)->TakeFailure();
      if (failure.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (failure.find("disk I/O error") == std::string::npos) return 8;
    if ((*checkpointer)->checkpoints() != 0) return 9;
    faults::DisarmAll();
    while ((*checkpointer)->checkpoints() == 0 && std::chrono::steady_clock::now() < guard) {
      (*checkpointer)->Wake();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if ((*checkpointer)->checkpoints() == 0) return 10;
    if (!(*checkpointer)->TakeFailure().empty()) return 11;  // reported once, then healed
    return 0;
  });
  ASSERT_EQ(code, 0);
  EXPECT_EQ(QueryOne(path_, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(Query(path_, "SELECT v FROM t ORDER BY rowid"),
            (std::vector<std::string>{"0", "1", "2", "3"}));
}

}  // namespace
}  // namespace onceflow::sink
