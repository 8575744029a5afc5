// End-to-end tests of a pipeline that knows its source: a topic renamed in the TOML, a topic
// deleted and created again, a source that lost or rewrote records the pipeline committed — each
// refused by run, status and verify with one line naming the way out, `onceflow reset`, which
// works; a recovery from the sink's progress rows that status and verify see at once; a
// damaged checkpoint that names its file and the way out; reading verbs refusing a data
// directory that does not exist.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
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

class CliSourceTest : public LedgerCliTestBase {
 protected:
  // Appends `n` transfers with the next ids to `topic` (4 partitions; created if missing).
  void ProduceTo(const std::string& topic, int n, uint64_t seed) {
    auto more = ProduceTransfers(data_, topic, 4, n, 50, seed, static_cast<int>(transfers_.size()));
    transfers_.insert(transfers_.end(), more.begin(), more.end());
  }

  std::string TopicMeta(const std::string& topic) {
    return ReadWholeFile(data_ + "/topics/" + topic + "/topic.meta");
  }

  void DeleteTopic(const std::string& topic) {
    std::filesystem::remove_all(data_ + "/topics/" + topic);
  }

  // The transfers topic deleted and produced again with `n` transfers of `seed`, under its old
  // id (topic.meta): the same source to the pipeline, holding other records.
  void RewriteTransfersKeepingTheirId(int n, uint64_t seed) {
    const std::string meta = TopicMeta("transfers");
    DeleteTopic("transfers");
    ProduceTo("transfers", n, seed);
    WriteWholeFile(data_ + "/topics/transfers/topic.meta", meta);
  }

  // The one error line of a refused verb, checked to be one line naming the way out.
  // (verify prints its violations on stdout, the others their error on stderr.)
  void ExpectRefusedWithWayOut(const RunResult& r, const std::string& what, const char* verb) {
    EXPECT_EQ(r.exit_code, 1) << verb << ": " << r.out << r.err;
    const std::string& text = std::string(verb) == "verify" ? r.out : r.err;
    EXPECT_THAT(text, HasSubstr(what)) << verb;
    EXPECT_THAT(text, HasSubstr("onceflow reset " + toml_ + " --data " + data_ + " --yes"))
        << verb << ": " << text;
  }

  // `onceflow reset --yes`, deleting the sink's progress rows first when reset asks for it
  // (as a user would, with the statement it prints).
  RunResult ResetYes(std::vector<std::string> extra = {}) {
    extra.push_back("--yes");
    RunResult r = RunVerb("reset", extra);
    if (r.exit_code != 0) {
      EXPECT_THAT(r.err, HasSubstr("DELETE FROM onceflow_progress WHERE pipeline = 'ledger'"))
          << r.out << r.err;
      EXPECT_TRUE(std::filesystem::exists(data_ + "/pipelines/ledger/offsets"))
          << "nothing is changed";
      EXPECT_EQ(SqliteExec(db_, "DELETE FROM onceflow_progress WHERE pipeline = 'ledger'"), "");
      r = RunVerb("reset", extra);
    }
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("reset: done"));
    if (extra.size() == 1) {
      EXPECT_FALSE(std::filesystem::exists(data_ + "/pipelines/ledger"));
    }
    return r;
  }
};

TEST_F(CliSourceTest, RenamedTopicIsRefusedByRunStatusAndVerifyUntilReset) {
  WriteToml(100);
  Produce(1000);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  // The TOML now names another topic under the same pipeline name: its offsets mean nothing.
  ProduceTo("payments", 1500, 7);
  std::string toml = LedgerToml(100);
  toml.replace(toml.find("topic = \"transfers\""), 19, "topic = \"payments\"");
  WriteWholeFile(toml_, toml);
  for (const char* verb : {"run", "status", "verify"}) {
    RunResult r =
        RunVerb(verb, std::string(verb) == "run" ? std::vector<std::string>{"--until-caught-up"}
                                                 : std::vector<std::string>{});
    ExpectRefusedWithWayOut(r, "committed its offsets from log topic 'transfers'", verb);
    EXPECT_THAT(r.out + r.err, HasSubstr("now reads log topic 'payments'")) << verb;
    int error_lines = 0;
    for (const std::string& line : SplitLines(r.err)) {
      error_lines += line.find("error:") != std::string::npos;
    }
    EXPECT_EQ(error_lines, 1) << r.err;
  }
  // Without --yes, reset only says what it would do.
  RunResult dry = RunVerb("reset");
  EXPECT_EQ(dry.exit_code, 1);
  EXPECT_THAT(dry.out, HasSubstr("the sink's output rows are NOT touched"));
  EXPECT_THAT(dry.err, HasSubstr("nothing was changed"));
  EXPECT_TRUE(std::filesystem::exists(data_ + "/pipelines/ledger"));
  ResetYes();
  RunResult again = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("1500 records in"));
  // Every transfer of both topics is in the ledger exactly once.
  EXPECT_EQ(CheckLedger(), "");
  RunResult v = RunVerb("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST_F(CliSourceTest, TopicDeletedAndCreatedAgainIsRefused) {
  WriteToml(100);
  Produce(1000);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  DeleteTopic("transfers");
  ProduceTo("transfers", 3000, 99);  // longer than before: no offset is missing
  for (const char* verb : {"run", "status", "verify"}) {
    ExpectRefusedWithWayOut(RunVerb(verb), "the topic was deleted and created again", verb);
  }
}

TEST_F(CliSourceTest, SourceThatLostCommittedRecordsIsRefusedNamingThePartitionAndOffsets) {
  WriteToml(100);
  Produce(2000);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  // The same topic (same id), holding fewer records than the pipeline committed.
  RewriteTransfersKeepingTheirId(400, 1);
  for (const char* verb : {"run", "status", "verify"}) {
    RunResult r = RunVerb(verb);
    ExpectRefusedWithWayOut(r, "records it processed were lost", verb);
    EXPECT_THAT(r.out + r.err, HasSubstr("partition 0: the source ends at offset ")) << verb;
    EXPECT_THAT(r.out + r.err,
                HasSubstr("onceflow reset " + toml_ + " --data " + data_ + " --accept-loss --yes"))
        << verb;
  }
  // status never prints a table with a negative lag.
  EXPECT_THAT(RunVerb("status").out, Not(HasSubstr("PARTITION")));
  // Reset is the way out, and it works.
  ResetYes();
  RunResult r = RunVerb("run", {"--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("400 records in"));
}

TEST_F(CliSourceTest, AcceptLossContinuesWhereTheSourceEndsAndRecordsTheChoice) {
  WriteToml(100);
  Produce(2000);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  RewriteTransfersKeepingTheirId(400, 1);
  ASSERT_EQ(RunVerb("run").exit_code, 1);
  // Without --yes: what would be given up, and nothing changed.
  RunResult dry = RunVerb("reset", {"--accept-loss"});
  EXPECT_EQ(dry.exit_code, 1);
  EXPECT_THAT(dry.out, HasSubstr("partition 0: offsets ["));
  EXPECT_THAT(dry.out, HasSubstr(") lost, continuing at "));
  EXPECT_THAT(dry.err, HasSubstr("--accept-loss --yes"));
  RunResult r = ResetYes({"--accept-loss"});
  EXPECT_THAT(r.out, HasSubstr("4 loss(es) accepted"));
  EXPECT_THAT(ReadWholeFile(data_ + "/pipelines/ledger/source.meta"),
              HasSubstr("accepted=unix time "));
  // The new checkpoint was swapped in: nothing else is left under pipelines/.
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(data_ + "/pipelines")) {
    left.push_back(e.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"ledger"});
  // Status and verify agree at once: nothing to do, nothing missing.
  RunResult s = RunVerb("status");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(ParseStatusTable(s.out)[-1].lag, 0) << s.out;
  EXPECT_EQ(RunVerb("verify").exit_code, 0);
  // New records after the accepted positions are read, exactly those.
  ProduceTo("transfers", 100, 2);
  RunResult run = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr(" 100 records in"));
  RunResult v = RunVerb("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST_F(CliSourceTest, SourceThatRewroteCommittedRecordsIsRefused) {
  WriteToml(100);
  Produce(1000);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  // The same topic (same id), longer than before but with other records at the same offsets.
  RewriteTransfersKeepingTheirId(4000, 12345);
  for (const char* verb : {"run", "status", "verify"}) {
    RunResult r = RunVerb(verb);
    ExpectRefusedWithWayOut(r, "the last one the pipeline committed, was rewritten", verb);
    EXPECT_THAT(r.out + r.err, HasSubstr("partition 0: the record at offset ")) << verb;
  }
}

TEST_F(CliSourceTest, DataDirectoriesFromBeforeSourceIdentitiesKeepWorking) {
  WriteToml(100);
  Produce(1000);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  // As an older onceflow left them: a version-1 topic.meta without an id, a checkpoint
  // without source.meta.
  std::string meta = TopicMeta("transfers");
  meta.replace(meta.find("format_version=2"), 16, "format_version=1");
  const size_t id_line = meta.find("topic_id=");
  meta.erase(id_line, meta.find('\n', id_line) - id_line + 1);
  WriteWholeFile(data_ + "/topics/transfers/topic.meta", meta);
  std::filesystem::remove(data_ + "/pipelines/ledger/source.meta");
  // ... and progress rows of a version-1 table: no source, no starts.
  ASSERT_EQ(SqliteExec(db_, "UPDATE onceflow_progress SET source = NULL, started = NULL"), "");
  EXPECT_EQ(RunVerb("status").exit_code, 0);
  EXPECT_EQ(RunVerb("verify").exit_code, 0);
  Produce(500);
  RunResult r = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err,
              HasSubstr("recording the source in the checkpoint: log topic 'transfers' (no id)"));
  EXPECT_THAT(r.err, HasSubstr("500 records in"));
  EXPECT_EQ(CheckLedger(), "");
  const std::string source = ReadWholeFile(data_ + "/pipelines/ledger/source.meta");
  EXPECT_THAT(source, HasSubstr("topic=transfers\n"));
  EXPECT_THAT(source, Not(HasSubstr("id=")));
  EXPECT_EQ(RunVerb("verify").exit_code, 0);
  // The topic created again now has an id: another topic.
  DeleteTopic("transfers");
  ProduceTo("transfers", 3000, 5);
  ExpectRefusedWithWayOut(RunVerb("run"), "the topic was deleted and created again", "run");
}

TEST_F(CliSourceTest, RecoveryFromTheSinkIsRecordedSoStatusAndVerifyAgreeAtOnce) {
  WriteToml(100);
  Produce(1200);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  std::filesystem::remove_all(data_ + "/pipelines/ledger");
  // No new input: the recovery itself must be recorded.
  RunResult r = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("resuming from the sink's progress rows"));
  RunResult v = RunVerb("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  RunResult s = RunVerb("status");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(ParseStatusTable(s.out)[-1].committed, 1200) << s.out;
  EXPECT_EQ(ParseStatusTable(s.out)[-1].lag, 0) << s.out;
  EXPECT_EQ(CheckLedger(), "");
}

TEST_F(CliSourceTest, DataDirectoryThatDoesNotExistIsAnErrorForReadingVerbs) {
  WriteToml(100);
  const std::string missing = tmp_ + "/no-such-data";
  const std::vector<std::vector<std::string>> verbs = {{"status", toml_},
                                                       {"verify", toml_},
                                                       {"consume", "transfers"},
                                                       {"topics", "list"},
                                                       {"topics", "describe", "transfers"},
                                                       {"reset", toml_}};
  for (std::vector<std::string> args : verbs) {
    args.push_back("--data");
    args.push_back(missing);
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_THAT(r.err, HasSubstr("data directory " + missing + " does not exist")) << args[0];
  }
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(CliSourceTest, DamagedCheckpointNamesTheWayOutAndResetWorks) {
  WriteToml(100);
  Produce(1000);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  // One flipped byte in the first batch of the offsets log, many intents before its end.
  std::vector<std::string> logs;
  for (const auto& e : std::filesystem::directory_iterator(data_ + "/pipelines/ledger/offsets")) {
    if (e.path().extension() == ".log") logs.push_back(e.path().string());
  }
  ASSERT_EQ(logs.size(), 1u);
  std::string bytes = ReadWholeFile(logs[0]);
  ASSERT_GT(bytes.size(), 64u);
  bytes[40] ^= 0x5a;
  WriteWholeFile(logs[0], bytes);
  for (const char* verb : {"status", "verify", "run"}) {
    RunResult r = RunVerb(verb);
    EXPECT_EQ(r.exit_code, 1) << verb << ": " << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("onceflow reset " + toml_ + " --data " + data_ + " --yes"))
        << verb << ": " << r.err;
  }
  ResetYes();
  RunResult r = RunVerb("run", {"--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("1000 records in"));
  EXPECT_EQ(RunVerb("verify").exit_code, 0);
}

TEST_F(CliSourceTest, ResetIsRefusedWhileThePipelineRuns) {
  WriteToml(100);
  Produce(100);
  ASSERT_EQ(RunVerb("run", {"--until-caught-up"}).exit_code, 0);
  Produce(100);
  // The run stops itself (SIGSTOP) right after writing its next intent, holding the
  // checkpoint's lock; the test acts once it says so.
  Process run({"run", toml_, "--data", data_}, "/dev/null", TempPath("out"), TempPath("err"),
              {{"ONCEFLOW_FAULTS", "after_intent=stop"}});
  while (run.err().find("fault point after_intent: stopped") == std::string::npos) {
    ASSERT_FALSE(run.Poll().has_value()) << run.err();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  RunResult r = RunVerb("reset", {"--yes"});
  run.Signal(SIGKILL);
  run.Wait();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("is running"));
  EXPECT_TRUE(std::filesystem::exists(data_ + "/pipelines/ledger/offsets"));
}

}  // namespace
}  // namespace onceflow::testing
