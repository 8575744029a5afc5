// `onceflow chaos` end to end: the ledger under 20 kills of every kind passes every audit and
// leaves an exact ledger; and the audit fails, naming the row, when the sink is wrong — a
// pipeline whose sink is not exactly once, and a sink doctored after a run. Label `crash`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "cli/chaos_audit.h"
#include "cli/chaos_key_audit.h"
#include "config/pipeline_config.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/sqlite_query.h"

namespace onceflow::testing {
namespace {

using ::testing::HasSubstr;

class CliChaosTest : public LedgerCliTestBase {
 protected:
  // The number in the report's "kills: N of M asked" line, or -1.
  static int KillsLanded(const std::string& out) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("kills: ([0-9]+) of [0-9]+ asked"))) return -1;
    return std::stoi(m[1]);
  }
};

// 80 000 transfers in batches of 1000 (about 80 batches), 20 kills: random moments, crashes
// and power losses at fault points, injected I/O errors, from the pipeline's very first run on
// (a power loss then once took its directories: docs/soak.md, "Found").
TEST_F(CliChaosTest, TwentyKillsOfEveryKindLeaveTheSinkEqualToTheReferenceRun) {
  WriteToml(/*max_records_per_partition=*/250);
  Produce(80000, /*accounts=*/500);
  RunResult chaos = RunVerb("chaos", {"--kills", "20", "--seed", "15", "--power-loss", "--faults",
                                      "--audit-key", "id=ledger.id"});
  ASSERT_EQ(chaos.exit_code, 0) << chaos.out << chaos.err;
  EXPECT_THAT(chaos.out, HasSubstr("verdict: EXACTLY ONCE"));
  EXPECT_THAT(chaos.out, HasSubstr("audit: verify: OK"));
  EXPECT_THAT(chaos.out, HasSubstr("table ledger: 80000 rows, identical to the reference run's"));
  EXPECT_THAT(chaos.out, HasSubstr("table accounts: 500 rows, identical"));
  EXPECT_THAT(chaos.out, HasSubstr("input-vs-output (per record): every one of the 80000 input "
                                   "records has exactly one row of ledger with id = its id"));
  EXPECT_THAT(chaos.out, HasSubstr("restart to first committed batch: "));
  const int kills = KillsLanded(chaos.out);
  EXPECT_GE(kills, 1) << chaos.out;
  // The check that does not trust the reference: every transfer once, every balance exact.
  EXPECT_EQ(CheckLedger(), "") << chaos.out;
  std::printf("%d kills landed\n", kills);

  // The audit itself fails on a doctored sink: one ledger row deleted, one duplicated.
  const std::string reference = data_ + "/chaos/ledger/reference.db";
  const std::string doctored = TempPath("doctored.db");
  // VACUUM INTO, not a copy of the file: the sink's last commits may still be in its WAL (the
  // checkpoint runs in the background), which a copy of bank.db alone would leave out.
  ASSERT_EQ(SqliteExec(db_, "VACUUM INTO '" + doctored + "'"), "");
  ASSERT_EQ(SqliteExec(doctored, "DELETE FROM ledger WHERE id = 7; INSERT INTO ledger SELECT * "
                                 "FROM ledger WHERE id = 11"),
            "");
  std::vector<std::string> same;
  auto diff =
      cli::CompareSqliteSinks(doctored, "ledger", reference, "ledger.chaos-reference", &same);
  ASSERT_TRUE(diff.has_value()) << diff.error().ToString();
  const std::string lines = ::testing::PrintToString(*diff);
  EXPECT_THAT(lines, HasSubstr("LOST: table ledger: row (id=7, "));
  EXPECT_THAT(lines, HasSubstr("is 0 time(s) in the sink, 1 time(s) in the reference run"));
  EXPECT_THAT(lines, HasSubstr("DUPLICATED: table ledger: row (id=11, "));
  EXPECT_THAT(lines, HasSubstr("is 2 time(s) in the sink, 1 time(s) in the reference run"));
  EXPECT_THAT(lines, HasSubstr("table ledger: 80000 rows in the sink, 80000 in the reference run"));
  EXPECT_THAT(::testing::PrintToString(same), HasSubstr("table accounts: 500 rows, identical"));
  // The per-record audit on the same doctored sink: id 7 lost, id 11 twice.
  cli::ChaosTarget target;
  auto config = config::LoadPipelineConfig(toml_);
  ASSERT_TRUE(config.has_value());
  target.config = *config;
  std::get<SqliteSinkOptions>(target.config.sink.options).path = doctored;
  target.data_dir = data_;
  target.work_dir = tmp_;
  std::string summary;
  auto wrong = cli::AuditRecordKeys(target, {"id", "ledger", "id"}, &summary);
  ASSERT_TRUE(wrong.has_value()) << wrong.error().ToString();
  const std::string records = ::testing::PrintToString(*wrong);
  EXPECT_THAT(records, ::testing::ContainsRegex("LOST: record [0-3]:[0-9]+ \\(id = 7\\): 0 row"));
  EXPECT_THAT(records,
              ::testing::ContainsRegex("DUPLICATED: record [0-3]:[0-9]+ \\(id = 11\\): 2 row"));
  EXPECT_EQ(wrong->size(), 2u) << records;
  // A row whose id no transfer has.
  ASSERT_EQ(SqliteExec(doctored, "INSERT INTO ledger VALUES(999999, 1, 2, 3)"), "");
  wrong = cli::AuditRecordKeys(target, {"id", "ledger", "id"}, &summary);
  ASSERT_TRUE(wrong.has_value());
  EXPECT_THAT(::testing::PrintToString(*wrong),
              HasSubstr("PHANTOM: 1 row(s) of ledger with id = 999999: no input record"));

  // A balance changed by hand is a row of accounts that the reference never had.
  ASSERT_EQ(SqliteExec(doctored, "UPDATE accounts SET balance = balance + 1 WHERE id = 3"), "");
  diff = cli::CompareSqliteSinks(doctored, "ledger", reference, "ledger.chaos-reference", &same);
  ASSERT_TRUE(diff.has_value());
  EXPECT_THAT(::testing::PrintToString(*diff), HasSubstr("PHANTOM: table accounts: row (id=3, "));
}

// A sink that is not exactly once — its init inserts a row at every open, so every restart
// adds one — fails the chaos audit with exit 1 and the line naming the row.
TEST_F(CliChaosTest, ASinkThatIsNotExactlyOnceFailsTheAudit) {
  std::string toml = LedgerToml(/*max_records_per_partition=*/250);
  const std::string init = "init = [";
  ASSERT_NE(toml.find(init), std::string::npos);
  toml.replace(toml.find(init), init.size(),
               "init = [\"CREATE TABLE IF NOT EXISTS opens(n INTEGER)\", \"INSERT INTO opens "
               "VALUES(1)\", ");
  WriteWholeFile(toml_, toml);
  Produce(20000, /*accounts=*/100);
  RunResult chaos = RunVerb("chaos", {"--kills", "3", "--seed", "3"});
  EXPECT_EQ(chaos.exit_code, 1) << chaos.out << chaos.err;
  EXPECT_THAT(chaos.out, HasSubstr("VIOLATION: input-vs-output (reference run "));
  EXPECT_THAT(chaos.out, HasSubstr("DUPLICATED: table opens: row (n=1) is "));
  EXPECT_THAT(chaos.out, HasSubstr("verdict: VIOLATED"));
  EXPECT_THAT(chaos.err, HasSubstr("onceflow: error: corruption: chaos: pipeline 'ledger' (seed "
                                   "3): "));
  // The ledger itself is exact: the audit found the one table that is not.
  EXPECT_THAT(chaos.out, HasSubstr("table ledger: 20000 rows, identical"));
  EXPECT_EQ(CheckLedger(), "");
}

}  // namespace
}  // namespace onceflow::testing
