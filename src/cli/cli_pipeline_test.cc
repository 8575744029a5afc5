// End-to-end tests of the pipeline verbs — run, status, verify — and of the ledger demo,
// against the built binary: an exact ledger, committed offsets and lag, the audit catching a
// tampered sink, bad configs and fault specs, injected crashes and clean stops by signal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "log/topic.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/sqlite_query.h"
#include "testing/status_table.h"

namespace onceflow::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CliPipelineTest : public LedgerCliTestBase {
 protected:
  // The end offset of every partition of the transfers topic.
  std::vector<int64_t> EndOffsets() {
    std::vector<int64_t> ends;
    auto topic = log::Topic::Open(data_, "transfers", /*read_only=*/true);
    EXPECT_TRUE(topic.has_value());
    if (!topic.has_value()) return ends;
    for (int32_t p = 0; p < (*topic)->partition_count(); ++p) {
      ends.push_back((*(*topic)->partition(PartitionId(p)))->end_offset().value());
    }
    return ends;
  }
};

TEST_F(CliPipelineTest, RunUntilCaughtUpBuildsAnExactLedgerFromTheExampleAsWritten) {
  WriteToml();  // the example exactly as written: default batch size
  Produce(3000);
  RunResult r = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("onceflow: ledger: caught up: "));
  EXPECT_THAT(r.err, HasSubstr("3000 records in"));
  EXPECT_EQ(CheckLedger(), "");
  // Nothing new: a second run commits nothing and leaves the ledger as it is.
  RunResult again = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("0 batches committed"));
  EXPECT_EQ(CheckLedger(), "");
}

TEST_F(CliPipelineTest, RunPrintsProgressLines) {
  WriteToml(50);
  Produce(2000);
  RunResult r = RunVerb("run", {"--until-caught-up", "--progress-interval", "0.000001"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("records/s); last batch "));
  EXPECT_THAT(r.err, HasSubstr("batches, "));
  EXPECT_EQ(CheckLedger(), "");
}

TEST_F(CliPipelineTest, StatusShowsCommittedOffsetsAndLag) {
  WriteToml(100);
  Produce(3000);
  // Before any run: nothing committed, everything is lag.
  RunResult before = RunVerb("status");
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_THAT(before.out, HasSubstr("last committed  none"));
  EXPECT_EQ(ParseStatusTable(before.out)[-1].lag, 3000) << before.out;

  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  RunResult s = RunVerb("status");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_THAT(s.out, HasSubstr("last committed  batch "));
  EXPECT_THAT(s.out, HasSubstr("unfinished      none"));
  auto table = ParseStatusTable(s.out);
  const std::vector<int64_t> ends = EndOffsets();
  ASSERT_EQ(ends.size(), 4u);
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(table[p].committed, ends[p]) << s.out;
    EXPECT_EQ(table[p].end, ends[p]) << s.out;
    EXPECT_EQ(table[p].lag, 0) << s.out;
  }
  EXPECT_EQ(table[-1].committed, 3000);
  EXPECT_EQ(table[-1].lag, 0);

  // More input: the committed offsets stay, the lag is what was added.
  Produce(500);
  RunResult more = RunVerb("status");
  auto after = ParseStatusTable(more.out);
  const std::vector<int64_t> new_ends = EndOffsets();
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(after[p].committed, ends[p]) << more.out;
    EXPECT_EQ(after[p].lag, new_ends[p] - ends[p]) << more.out;
  }
  EXPECT_EQ(after[-1].lag, 500) << more.out;
}

TEST_F(CliPipelineTest, StatusWorksWhileThePipelineRuns) {
  WriteToml(10);  // many small batches: the run lasts a while
  Produce(4000);
  Process run({"run", toml_, "--data", data_}, "/dev/null", TempPath("out"), TempPath("err"));
  int64_t previous = -1;
  bool caught_up = false;
  // Until caught up however long that takes on a busy machine (ctest's timeout is the bound);
  // a run that ends by itself fails the test below.
  while (!caught_up && !run.Poll()) {
    RunResult s = RunVerb("status");
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto table = ParseStatusTable(s.out);
    EXPECT_GE(table[-1].committed, previous) << s.out;  // committed offsets never go back
    previous = table[-1].committed;
    caught_up = table[-1].lag == 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(caught_up);
  run.Signal(SIGINT);
  EXPECT_EQ(run.Wait(), 0) << run.err();
  EXPECT_THAT(run.err(), HasSubstr("stopping after the current batch"));
  EXPECT_THAT(run.err(), HasSubstr("stopped (Interrupt)"));
  EXPECT_EQ(CheckLedger(), "");
}

TEST_F(CliPipelineTest, SigtermStopsAfterTheCurrentBatchWithNothingUnfinished) {
  WriteToml(2);  // about 500 batches
  Produce(4000);
  // The run stops itself (SIGSTOP) right after the intent of its third batch: two batches
  // committed, one under way, its signal watcher in place. The SIGTERM comes exactly there,
  // however fast or slow the machine (before: 100 ms after the sink's database appeared, which
  // under ASan on a busy machine was before the first batch).
  Process run({"run", toml_, "--data", data_}, "/dev/null", TempPath("out"), TempPath("err"),
              {{"ONCEFLOW_FAULTS", "after_intent=stop#3"}});
  const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
  while (!run.Stopped()) {
    ASSERT_FALSE(run.Poll().has_value()) << run.err();
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << run.err();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_THAT(run.err(), HasSubstr("fault point after_intent: stopped"));
  run.Signal(SIGTERM);  // pending while it is stopped
  run.Signal(SIGCONT);
  ASSERT_EQ(run.Wait(), 0) << run.err();
  EXPECT_THAT(run.err(), HasSubstr("stopped (Terminated)"));
  // A clean stop finishes the batch it is in: no batch is left unfinished.
  RunResult s = RunVerb("status");
  EXPECT_THAT(s.out, HasSubstr("unfinished      none")) << s.out;
  EXPECT_LT(ParseStatusTable(s.out)[-1].committed, 4000) << "not stopped mid-way";
  EXPECT_GT(ParseStatusTable(s.out)[-1].committed, 0) << "the batches before the signal";
  RunResult v = RunVerb("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  EXPECT_EQ(CheckLedger(), "");
}

TEST_F(CliPipelineTest, VerifyIsOkOnAGoodRunAndFailsOnATamperedSink) {
  WriteToml(100);
  Produce(3000);
  RunResult nothing = RunVerb("verify");
  EXPECT_EQ(nothing.exit_code, 0) << nothing.out << nothing.err;
  EXPECT_THAT(nothing.out, HasSubstr("nothing committed yet"));

  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  RunResult ok = RunVerb("verify");
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("verify: OK"));
  EXPECT_THAT(ok.out, HasSubstr("4 progress row(s) cover 4 partition(s)"));

  // A gap: partition 2's progress row ends 10 offsets early.
  const int64_t end2 = EndOffsets()[2];
  ASSERT_EQ(
      SqliteExec(db_, "UPDATE onceflow_progress SET ranges = '2:" + std::to_string(end2 - 110) +
                          "-" + std::to_string(end2 - 10) + "' WHERE task = 2"),
      "");
  RunResult gap = RunVerb("verify");
  EXPECT_EQ(gap.exit_code, 1);
  EXPECT_THAT(gap.out, HasSubstr("verify: FAILED"));
  EXPECT_THAT(gap.out, HasSubstr("partition 2: gap"));
  EXPECT_THAT(gap.err, HasSubstr("violation"));
  EXPECT_THAT(gap.out, Not(HasSubstr("partition 1")));

  // An overlap: partition 1 claimed by two rows (task 3's row claims it too).
  ASSERT_EQ(SqliteExec(db_, "UPDATE onceflow_progress SET ranges = (SELECT ranges FROM "
                            "onceflow_progress WHERE task = 1) WHERE task = 3"),
            "");
  RunResult overlap = RunVerb("verify");
  EXPECT_EQ(overlap.exit_code, 1);
  EXPECT_THAT(overlap.out, HasSubstr("partition 1: overlap"));
  EXPECT_THAT(overlap.out, HasSubstr("partition 3: gap"));

  // An epoch and a batch from the future.
  ASSERT_EQ(
      SqliteExec(db_, "UPDATE onceflow_progress SET epoch = 99, last_batch = 1000 WHERE task = 0"),
      "");
  RunResult future = RunVerb("verify");
  EXPECT_EQ(future.exit_code, 1);
  EXPECT_THAT(future.out, HasSubstr("task 0: its progress row has epoch 99"));
  EXPECT_THAT(future.out, HasSubstr("task 0: its progress row claims batch 1000"));
}

TEST_F(CliPipelineTest, VerifyChecksTheOutputFromThePipelinesStart) {
  WriteToml(100);
  Produce(3000);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  RunResult ok = RunVerb("verify");
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("4 partition(s) checked from the pipeline's start"));
  EXPECT_THAT(ok.out, Not(HasSubstr("not checked from the start")));

  // The sink's rows agree with the checkpoint where they end, but its output of partition 2
  // begins at offset 300: the first 300 records' output is missing (a sink restored from a
  // copy made after a reset, rows deleted by hand, ...). Only the start can tell.
  ASSERT_EQ(SqliteExec(db_, "UPDATE onceflow_progress SET started = '2:300' WHERE task = 2"), "");
  RunResult gap = RunVerb("verify");
  EXPECT_EQ(gap.exit_code, 1) << gap.out;
  EXPECT_THAT(gap.out, HasSubstr("partition 2: gap at the pipeline's start: it started reading "
                                 "the partition at offset 0, but the sink's output of it begins "
                                 "at 300: offsets [0, 300) have no output"));
  EXPECT_THAT(gap.out, Not(HasSubstr("partition 1:")));

  // A row from before starts were recorded cannot be checked from the start: said, not failed.
  ASSERT_EQ(SqliteExec(db_, "UPDATE onceflow_progress SET started = '2:?' WHERE task = 2"), "");
  RunResult unknown = RunVerb("verify");
  EXPECT_EQ(unknown.exit_code, 0) << unknown.out;
  EXPECT_THAT(unknown.out, HasSubstr("3 partition(s) checked from the pipeline's start"));
  EXPECT_THAT(unknown.out, HasSubstr("1 not checked from the start"));
}

TEST_F(CliPipelineTest, BadConfigIsOneErrorNamingTheKey) {
  std::string toml = LedgerToml();
  toml.replace(toml.find("mode = \"statements\""), 19, "mode = \"apend\"");
  WriteWholeFile(toml_, toml);
  Produce(10);
  for (const char* verb : {"run", "status", "verify"}) {
    RunResult r = RunVerb(verb);
    EXPECT_EQ(r.exit_code, 1) << verb;
    EXPECT_THAT(r.err, HasSubstr("sink.mode")) << verb;
    EXPECT_THAT(r.err, HasSubstr("apend")) << verb;
    EXPECT_EQ(SplitLines(r.err).size(), 1u) << verb << ": " << r.err;
  }
  RunResult missing = Run({"run", tmp_ + "/nope.toml", "--data", data_});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nope.toml"));
}

TEST_F(CliPipelineTest, UnknownFaultPointIsAUsageErrorNamingIt) {
  WriteToml();
  Produce(10);
  RunResult r =
      RunVerb("run", {"--until-caught-up"}, {{"ONCEFLOW_FAULTS", "after_sink_comit=crash"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("after_sink_comit"));
  EXPECT_THAT(r.err, HasSubstr("unknown fault point"));
  // Every verb arms the faults, so every verb refuses a bad spec.
  RunResult list = Run({"topics", "list", "--data", data_}, "", {{"ONCEFLOW_FAULTS", "x=crash"}});
  EXPECT_EQ(list.exit_code, 2);
}

TEST_F(CliPipelineTest, InjectedCrashExits86AndTheRerunIsExact) {
  WriteToml(100);
  Produce(3000);
  RunResult crashed =
      RunVerb("run", {"--until-caught-up"}, {{"ONCEFLOW_FAULTS", "after_sink_commit=crash#2"}});
  ASSERT_EQ(crashed.exit_code, 86) << crashed.err;
  // Batch 1 is in the sink but its commit record is missing: unfinished, and consistent.
  RunResult s = RunVerb("status");
  EXPECT_THAT(s.out, HasSubstr("last committed  batch 0")) << s.out;
  EXPECT_THAT(s.out, HasSubstr("unfinished      batch 1")) << s.out;
  RunResult v = RunVerb("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_THAT(v.out, HasSubstr("batch 1 is unfinished but the sink already holds it"));

  RunResult rerun = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_THAT(rerun.err, HasSubstr("re-running unfinished batch 1"));
  EXPECT_EQ(CheckLedger(), "");
  EXPECT_EQ(RunVerb("verify").exit_code, 0);
}

TEST_F(CliPipelineTest, CrashAfterTheIntentLeavesABatchTheSinkDoesNotHold) {
  WriteToml(100);
  Produce(3000);
  RunResult crashed =
      RunVerb("run", {"--until-caught-up"}, {{"ONCEFLOW_FAULTS", "after_intent=crash#3"}});
  ASSERT_EQ(crashed.exit_code, 86) << crashed.err;
  RunResult s = RunVerb("status");
  EXPECT_THAT(s.out, HasSubstr("unfinished      batch 2")) << s.out;
  // The committed offsets of an unfinished batch are its `from`s: 2 batches of 100 each.
  for (const auto& [p, row] : ParseStatusTable(s.out)) {
    if (p >= 0) {
      EXPECT_EQ(row.committed, std::min<int64_t>(200, EndOffsets()[p])) << s.out;
    }
  }
  RunResult v = RunVerb("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_THAT(v.out, HasSubstr("batch 2 is unfinished and the sink does not hold it"));
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  EXPECT_EQ(CheckLedger(), "");
}

// ENGINE BUG (disabled until fixed): a lost checkpoint directory restarts the epoch at 1, while
// the sink's progress rows keep the old, higher epoch; every commit of the recovered pipeline is
// then fenced ("epoch 1 is fenced by epoch 3") until enough restarts have raised the new epoch
// past the old one. Recovery from the sink should take an epoch above the sink's.
TEST_F(CliPipelineTest, LostCheckpointIsNotFencedByTheSinksOlderEpochs) {
  WriteToml(100);
  for (int run = 0; run < 3; ++run) {  // three runs: the sink's rows have epoch 3
    Produce(500);
    ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  }
  ASSERT_EQ(std::system(("rm -rf '" + data_ + "/pipelines/ledger'").c_str()), 0);
  Produce(500);
  RunResult r = RunVerb("run", {"--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CheckLedger(), "");
  EXPECT_EQ(RunVerb("verify").exit_code, 0);
}

TEST_F(CliPipelineTest, DemoSurvivesKillsWithAnExactLedger) {
  RunResult r = RunData({"demo", "--transfers", "20000", "--accounts", "200", "--kills", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("verdict: EXACTLY ONCE: 20000 transfers"));
  EXPECT_THAT(r.out, HasSubstr("SIGKILL after"));
  EXPECT_THAT(r.out, HasSubstr("[ok] ledger rows == transfers: 20000 rows, 20000 transfers"));
  EXPECT_THAT(r.out, HasSubstr("[ok] progress rows verify clean"));
  EXPECT_THAT(r.out, Not(HasSubstr("FAILED")));
  EXPECT_THAT(r.out, HasSubstr("throughput: "));
  // The demo leaves a pipeline the other verbs can inspect.
  RunResult v =
      Run({"verify", data_ + "/demo-ledger/ledger.toml", "--data", data_ + "/demo-ledger"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace onceflow::testing
