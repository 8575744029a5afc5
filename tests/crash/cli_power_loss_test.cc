// Power loss, failed fdatasyncs and a full disk under the `onceflow` binary. A `power_loss`
// fault (util/power_loss.h) forgets every change the child had not made durable — unsynced
// bytes, creations, renames and removals before their directory's fsync — as POSIX lets a power
// cut do, and ends it with exit 87; the test then restarts it (with further power losses) and
// checks exact results: the ledger pipeline (embedded log -> SQLite) at every fault point of the
// protocol and at random file operations, a stateful pipeline, and `produce` / `serve`, whose
// acknowledged records must survive. SQLite's and RocksDB's files are tracked too (the sink's
// VFS shim, the state store's file system wrapper). Label `crash`.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "retrying_clients.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/purchases.h"
#include "testing/serve_process.h"
#include "testing/sqlite_query.h"
#include "testing/topic_read.h"
#include "util/fault_points.h"
#include "util/file.h"
#include "util/power_loss.h"

namespace onceflow::testing {
namespace {

constexpr int kPowerLoss = power_loss::kExitCode;

class CliPowerLossTest : public LedgerCliTestBase {
 protected:
  // `onceflow run ledger.toml --until-caught-up` with ONCEFLOW_FAULTS=`faults`.
  RunResult RunWith(const std::string& faults, uint64_t seed = 1) {
    return RunVerb("run", {"--until-caught-up"},
                   {{"ONCEFLOW_FAULTS", faults}, {"ONCEFLOW_FAULT_SEED", std::to_string(seed)}});
  }
  // `verify` passes: the sink and the checkpoint agree, whatever the moment of the loss.
  void ExpectVerified(const std::string& after) {
    RunResult v = RunVerb("verify");
    ASSERT_EQ(v.exit_code, 0) << "after " << after << ":\n" << v.out << v.err;
  }
};

TEST_F(CliPowerLossTest, PowerLossAtEveryFaultPointThenRestartLeavesAnExactLedger) {
  WriteToml(/*max_records_per_partition=*/20);
  for (const std::string& point : faults::PipelinePoints()) {
    SCOPED_TRACE(point);
    Produce(400, /*accounts=*/50);
    // The third hit: a few batches in, with earlier batches committed.
    RunResult lost = RunWith(point + "=power_loss#3");
    ASSERT_EQ(lost.exit_code, kPowerLoss) << lost.out << lost.err;
    EXPECT_NE(lost.err.find("power loss at fault point " + point), std::string::npos) << lost.err;
    ASSERT_NO_FATAL_FAILURE(ExpectVerified(point));
  }
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "");
}

// The Nth write, fdatasync/fsync or rename of the run (N random), or every write with a small
// probability: wherever the power goes, restarts (with further losses) end in an exact ledger.
TEST_F(CliPowerLossTest, PowerLossAtRandomFileOperationsLeavesAnExactLedger) {
  WriteToml(/*max_records_per_partition=*/5);
  Produce(2000, /*accounts=*/100);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  // Until kLosses power cuts landed (a run may finish before its Nth operation); the soak
  // (ctest -L slow) sets ONCEFLOW_POWER_LOSSES=200.
  const char* wanted = std::getenv("ONCEFLOW_POWER_LOSSES");
  const int kLosses = wanted != nullptr && *wanted != '\0' ? std::atoi(wanted) : 8;
  int losses = 0, finished = 0;
  for (int i = 0; losses < kLosses; ++i) {
    ASSERT_LT(i, 5 * kLosses) << "the power cuts keep missing: " << losses << " landed";
    std::string faults;
    auto nth = [&](int most) {
      return std::to_string(std::uniform_int_distribution(1, most)(rng));
    };
    switch (i % 4) {
      case 0: faults = "file_write=power_loss#" + nth(80); break;
      case 1: faults = "file_sync=power_loss#" + nth(80); break;
      // Renames: the atomic replaces of epoch (each start) and source.meta.
      case 2: faults = "file_rename=power_loss#" + nth(2); break;
      default: faults = "file_write=power_loss@0.02"; break;
    }
    SCOPED_TRACE(faults);
    RunResult r = RunWith(faults, rng());
    if (r.exit_code == 0) {
      ++finished;
      Produce(500, 100);  // the next run has work
    } else {
      ASSERT_EQ(r.exit_code, kPowerLoss) << r.err;
      ++losses;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectVerified(faults));
  }
  std::printf("%d power losses, %d runs finished first, %zu transfers\n", losses, finished,
              transfers_.size());
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "");
}

// fsyncgate in the checkpoint: an fdatasync of an intent or commit record that fails is not
// retried as if it had worked. The run fails (non-zero, naming the file), and a restart
// recovers from what is on disk to an exact ledger.
TEST_F(CliPowerLossTest, AFailedFdatasyncEndsTheRunAndARestartRecoversExactly) {
  WriteToml(/*max_records_per_partition=*/20);
  // The Nth sync may be onceflow's own (the run must fail), the sink's commit (SQLite rolls the
  // commit back and the batch attempt is retried: src/sink/sqlite_power_loss_test.cc), or the
  // sink's background checkpoint (reported; the WAL keeps every commit).
  int ended = 0;
  for (int n : {2, 3, 5, 8, 13, 20}) {
    Produce(400, 50);
    const std::string faults = "file_sync=eio#" + std::to_string(n);
    SCOPED_TRACE(faults);
    RunResult r = RunWith(faults);
    ASSERT_NE(r.exit_code, kPowerLoss) << r.err;
    EXPECT_EQ(r.err.find("retrying until writes succeed"), std::string::npos) << r.err;
    if (r.exit_code == 0) {
      // Said, never swallowed: the commit rolled back and retried, or the sink's background
      // checkpoint failed (the WAL keeps every commit; src/sink/sqlite_checkpointer.h).
      const bool retried = r.err.find(db_ + ": commit batch") != std::string::npos;
      const bool checkpoint =
          r.err.find(db_ + ": background checkpoint failed") != std::string::npos;
      EXPECT_TRUE(retried || checkpoint) << r.err;
    } else {
      // The checkpoint's record, a directory it created, or the sink's open: one error line
      // naming the file.
      ++ended;
      EXPECT_NE(r.err.find("onceflow: error: io_error: "), std::string::npos) << r.err;
      EXPECT_NE(r.err.find(tmp_ + "/"), std::string::npos) << r.err;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectVerified(faults));
  }
  EXPECT_GE(ended, 1) << "no EIO ended a run";
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "");
}

// A full disk mid-run is an outage: the run says so once, naming the file, waits, and goes on
// once writes succeed again (the fault fires on hits 10 to 14, then space is "freed").
TEST_F(CliPowerLossTest, AFullDiskMidRunIsWaitedOutAndTheLedgerIsExact) {
  WriteToml(/*max_records_per_partition=*/20);
  Produce(2000, 100);
  RunResult r = RunWith("file_write=enospc#10-14");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The hits land on the checkpoint's files or the sink's (SQLite's shim passes file_write on).
  size_t said = 0;
  for (const std::string& line : SplitLines(r.err)) {
    if (line.find("disk full: ") == std::string::npos) continue;
    ++said;
    EXPECT_TRUE(line.find("disk full: " + JoinPath(data_, "pipelines/ledger")) !=
                    std::string::npos ||
                line.find("disk full: " + db_) != std::string::npos)
        << line;
    EXPECT_NE(line.find("retrying until writes succeed again"), std::string::npos) << line;
  }
  EXPECT_EQ(said, 1u) << r.err;
  ASSERT_NO_FATAL_FAILURE(ExpectVerified("the full disk"));
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "");
}

// A real full disk: the data directory on a small tmpfs, filled up to a few pages, so that the
// run's own writes (checkpoint records, epoch, source.meta) fail with a real ENOSPC mid-run. The
// run says so once and waits; the test frees the space once it has said so; the run finishes
// with an exact ledger. Needs a process that may mount (root); skipped elsewhere (the fault
// above covers the behaviour).
TEST_F(CliPowerLossTest, ARealFullDiskIsWaitedOutOnceSpaceIsFreed) {
  ASSERT_TRUE(CreateDirs(data_).ok());
  if (std::system(("mount -t tmpfs -o size=8m onceflow-test " + data_ + " 2>/dev/null").c_str()) !=
      0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (not root?)";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { EXPECT_EQ(std::system(("umount " + dir).c_str()), 0); }
  } unmount{data_};
  WriteToml(/*max_records_per_partition=*/5);
  Produce(4000, /*accounts=*/100);
  // Eight pages of room (kept free by a reserve file while the rest is filled), then full.
  const std::string reserve = JoinPath(data_, "reserve"), filler = JoinPath(data_, "filler");
  WriteWholeFile(reserve, std::string(8 * 4096, 'r'));
  {
    auto f = File::Open(filler, File::Mode::kCreate);
    ASSERT_TRUE(f.has_value()) << f.error().ToString();
    const std::string chunk(64 << 10, 'f');
    uint64_t at = 0;
    while (f->WriteAt(at, chunk).ok()) at += chunk.size();
    const std::string page(4096, 'f');  // then page by page, to the last one
    while (f->WriteAt(at, page).ok()) at += page.size();
  }
  ASSERT_TRUE(RemoveFile(reserve).ok());
  std::unique_ptr<Process> run = StartRun();
  const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
  std::optional<int> code;
  while (!(code = run->Poll()) && run->err().find("disk full: ") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling for the line
  }
  ASSERT_FALSE(code.has_value()) << "the run ended (" << *code << ") before the disk was full: "
                                 << "make the reserve smaller or the workload bigger\n"
                                 << run->err();
  ASSERT_TRUE(RemoveFile(filler).ok());  // space freed
  ASSERT_EQ(run->Wait(), 0) << run->err();
  const std::string err = run->err();
  size_t said = 0;
  for (const std::string& line : SplitLines(err)) {
    if (line.find("disk full: " + JoinPath(data_, "pipelines/ledger")) != std::string::npos) {
      EXPECT_NE(line.find("No space left on device"), std::string::npos) << line;
      // Mid-run: an intent or commit record's write, the segment's next page (eight pages
      // of room hold the start's small files and a few dozen batches' records).
      EXPECT_NE(line.find(".log (write"), std::string::npos) << line;
      std::printf("%s\n", line.c_str());
      ++said;
    }
  }
  EXPECT_EQ(said, 1u) << err;
  ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
  EXPECT_EQ(CheckLedger(), "");
}

// The stateful pipeline: a running count and sum per user (RocksDB state under the checkpoint),
// a power loss at every protocol point and in the state store's write.
TEST_F(CliPowerLossTest, PowerLossAtEveryPointOfAStatefulPipelineLeavesExactCounts) {
  const std::string toml = tmp_ + "/spend.toml";
  const std::string db = tmp_ + "/state.db";
  WriteWholeFile(toml, kSpendPerUserToml);
  std::vector<Purchase> purchases;
  uint64_t seed = 1;
  std::vector<std::string> points = faults::PipelinePoints();
  points.push_back("mid_state_commit");
  for (const std::string& point : points) {
    SCOPED_TRACE(point);
    auto more = MakePurchases(300, 40, seed++);
    ProducePurchases(data_, "purchases", 4, more);
    purchases.insert(purchases.end(), more.begin(), more.end());
    RunResult lost = Run({"run", toml, "--until-caught-up", "--data", data_}, "",
                         {{"ONCEFLOW_FAULTS", point + "=power_loss#3"}});
    ASSERT_EQ(lost.exit_code, kPowerLoss) << lost.out << lost.err;
    RunResult v = Run({"verify", toml, "--data", data_});
    ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
  }
  RunResult last = Run({"run", toml, "--until-caught-up", "--data", data_});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  auto expected = CountAndSum(purchases);
  auto rows = SqliteTextRows(db, "SELECT user, purchases, spent FROM spend ORDER BY user");
  ASSERT_EQ(rows.size(), expected.size());
  for (const auto& row : rows) {
    EXPECT_EQ(std::stoll(row[1]), expected[row[0]].first) << row[0];
    EXPECT_EQ(std::stoll(row[2]), expected[row[0]].second) << row[0];
  }
  RunResult v = Run({"verify", toml, "--data", data_});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// `onceflow produce`: a run that exited 0 acknowledged all its lines, and they survive any
// later power loss; a run the power cut leaves the log readable (its unsynced tail forgotten,
// never a corrupt middle), and nothing is ever stored twice.
TEST_F(CliPowerLossTest, ProducedRecordsThatWereAcknowledgedSurvivePowerLosses) {
  ASSERT_EQ(RunData({"topics", "create", "events", "-p", "2"}).exit_code, 0);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::set<std::string> acked, sent;
  // Until kLosses power cuts landed (a produce may end before its Nth fdatasync).
  constexpr int kLosses = 5;
  int losses = 0;
  for (int run = 0; losses < kLosses; ++run) {
    ASSERT_LT(run, 5 * kLosses) << "the power cuts keep missing: " << losses << " landed";
    std::string input;
    std::vector<std::string> lines;
    for (int i = 0; i < 300; ++i) {
      lines.push_back("r" + std::to_string(run) + "-" + std::to_string(i));
      input += lines.back() + "\n";
    }
    // Small batches: a dozen group commits per run, the power cut at one of them; every third
    // run has no cut, so that later cuts have acknowledged records to lose (they must not).
    const std::string faults =
        run % 3 == 2
            ? ""
            : "file_sync=power_loss#" + std::to_string(std::uniform_int_distribution(1, 6)(rng));
    RunResult r = Run({"produce", "events", "--batch-records", "25", "--data", data_}, input,
                      {{"ONCEFLOW_FAULTS", faults}});
    sent.insert(lines.begin(), lines.end());
    if (r.exit_code == 0) {
      acked.insert(lines.begin(), lines.end());
    } else {
      ASSERT_EQ(r.exit_code, kPowerLoss) << faults << ": " << r.err;
      ++losses;
    }
    // Readable after every loss, with every acknowledged record exactly once.
    const std::vector<std::string> stored = TopicValues(data_, "events");
    ASSERT_EQ(CheckExactlyOnce(stored, acked), "") << "after run " << run << " (" << faults << ")";
    for (const std::string& v : stored) ASSERT_TRUE(sent.contains(v)) << v;
  }
  std::printf("%d power losses, %zu of %zu records acknowledged\n", losses, acked.size(),
              sent.size());
  EXPECT_FALSE(acked.empty());
  RunResult consume = RunData({"consume", "events"});
  EXPECT_EQ(consume.exit_code, 0) << consume.err;
}

// `onceflow produce` on a full disk: it exits non-zero naming the file, and what a later produce
// acknowledges (once space is freed) is there exactly once, after the records acknowledged
// before the disk filled up.
TEST_F(CliPowerLossTest, ProduceOnAFullDiskFailsNamingThePathAndLosesNothingAcknowledged) {
  ASSERT_EQ(RunData({"topics", "create", "events", "-p", "1"}).exit_code, 0);
  ASSERT_EQ(RunData({"produce", "events"}, "a\nb\n").exit_code, 0);
  RunResult full = Run({"produce", "events", "--data", data_}, "c\nd\n",
                       {{"ONCEFLOW_FAULTS", "file_write=enospc"}});
  EXPECT_NE(full.exit_code, 0);
  EXPECT_NE(full.err.find("disk full: " + JoinPath(data_, "topics/events")), std::string::npos)
      << full.err;
  ASSERT_EQ(RunData({"produce", "events"}, "e\n").exit_code, 0);
  EXPECT_EQ(TopicValues(data_, "events"), (std::vector<std::string>{"a", "b", "e"}));
}

// `onceflow serve`: clients send with producer ids and retry until acknowledged (HTTP 200) while
// the server loses power again and again at a random fdatasync; every acknowledged record is in
// the topic exactly once, nothing twice.
TEST_F(CliPowerLossTest, ServeAcknowledgedRecordsSurvivePowerLosses) {
  constexpr int kClients = 3, kPerRequest = 5, kLosses = 6;
  ASSERT_EQ(RunData({"topics", "create", "in", "-p", "2"}).exit_code, 0);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto next_faults = [&] {
    return std::map<std::string, std::string>{
        {"ONCEFLOW_FAULTS",
         "file_sync=power_loss#" + std::to_string(std::uniform_int_distribution(5, 40)(rng))}};
  };
  // A server armed to lose power may lose it before it prints that it listens (it syncs at
  // start, and serves before the line): the clients start with the first one that listens.
  ServeProcess serve(data_, tmp_);
  int losses = 0;
  while (!serve.StartMayExit(next_faults())) {
    ASSERT_FALSE(HasFailure());
    ASSERT_EQ(*serve.Poll(), kPowerLoss) << serve.Describe();
    ASSERT_LT(++losses, kLosses);
  }
  RetryingClients clients(serve.url(), "in", kClients, kPerRequest);
  // Restart the server whenever its power goes; after kLosses, without faults.
  const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
  while (!clients.AllDone() && std::chrono::steady_clock::now() < deadline) {
    if (std::optional<int> code = serve.Poll()) {
      ASSERT_EQ(*code, kPowerLoss) << serve.Describe();
      if (++losses == kLosses) clients.StopAfterCurrent();
      if (losses < kLosses) {
        (void)serve.StartMayExit(next_faults());  // an end is checked on the next turn
        ASSERT_FALSE(HasFailure());
      } else {
        ASSERT_TRUE(serve.Start());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling, not waiting for it
  }
  ASSERT_TRUE(clients.AllDone()) << "the clients did not finish within the hang guard; "
                                 << clients.first_error() << "\n"
                                 << serve.Describe();
  clients.Finish();
  if (!serve.Poll()) serve.Kill();
  std::printf("%d power losses, %d repeats answered as duplicates, %zu records acknowledged\n",
              losses, clients.duplicates(), clients.acked().size());
  ASSERT_EQ(clients.errors(), 0) << clients.first_error() << "\n" << serve.Describe();
  EXPECT_EQ(losses, kLosses);
  std::vector<std::string> stored = TopicValues(data_, "in");
  EXPECT_EQ(CheckExactlyOnce(stored, clients.acked()), "");
  EXPECT_EQ(stored.size(), clients.acked().size());  // nothing unacknowledged, nothing twice
}

}  // namespace
}  // namespace onceflow::testing
