// End-to-end tests of what `onceflow run` does with records that do not fit: csv files produced
// into several partitions, filters on fields the records lack, the counts every run line
// carries, and event time over several partitions — against the built binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "log/topic.h"
#include "testing/cli_test_base.h"
#include "testing/sqlite_query.h"

namespace onceflow::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto Query = &SqliteInts;

// The README's csv workflow: a file with a header line, produced into a topic of 4 partitions,
// read with the default header handling, filtered.
class CliTransformsTest : public CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    toml_ = tmp_ + "/p.toml";
    db_ = tmp_ + "/out.db";
  }

  // id 1..n, amount = id % 10 - 2 (a fifth of them not positive), currency alternating.
  static std::string CsvFile(int n, const std::string& header = "id,amount,currency") {
    std::string csv = header + "\n";
    for (int id = 1; id <= n; ++id) {
      csv += std::to_string(id) + "," + std::to_string(id % 10 - 2) + "," +
             (id % 2 == 0 ? "EUR" : "USD") + "\n";
    }
    return csv;
  }

  static int64_t KeptByFilter(int n) {
    int64_t kept = 0;
    for (int id = 1; id <= n; ++id) kept += id % 10 - 2 > 0 ? 1 : 0;
    return kept;
  }

  void WriteCsvPipeline(const std::string& where) {
    WriteWholeFile(toml_, R"toml(name = "rows"
batch_interval_ms = 1
max_records_per_partition = 3000
[source]
topic = "rows"
format = "csv"
[[transform]]
type = "filter"
where = [")toml" + where + R"toml("]
[sink]
path = "out.db"
init = ["CREATE TABLE IF NOT EXISTS rows(id INTEGER, amount INTEGER, currency TEXT)"]
table = "rows"
)toml");
  }

  RunResult RunPipeline(std::vector<std::string> extra = {"--until-caught-up"}) {
    std::vector<std::string> args = {"run", toml_, "--data", data_};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }

  std::vector<int64_t> EndOffsets(const std::string& topic) {
    std::vector<int64_t> ends;
    auto t = log::Topic::Open(data_, topic, /*read_only=*/true);
    EXPECT_TRUE(t.has_value());
    if (!t.has_value()) return ends;
    for (int32_t p = 0; p < (*t)->partition_count(); ++p) {
      ends.push_back((*(*t)->partition(PartitionId(p)))->end_offset().value());
    }
    return ends;
  }

  std::string toml_, db_;
};

TEST_F(CliTransformsTest, CsvFileProducedWithCsvHeaderIntoFourPartitionsIsExact) {
  constexpr int kRows = 40000;
  ASSERT_EQ(RunData({"topics", "create", "rows", "--partitions", "4"}).exit_code, 0);
  RunResult produced = RunData({"produce", "rows", "--csv-header"}, CsvFile(kRows));
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  // The header is the first record of every partition, and every data row is there once.
  const std::vector<int64_t> ends = EndOffsets("rows");
  ASSERT_EQ(ends.size(), 4u);
  int64_t total = 0;
  for (int64_t e : ends) {
    EXPECT_GT(e, 1);  // every partition got data
    total += e;
  }
  EXPECT_EQ(total, kRows + 4);
  RunResult first = RunData({"consume", "rows", "--partition", "3", "--max", "1"});
  EXPECT_EQ(first.out, "id,amount,currency\n");

  WriteCsvPipeline("amount > 0");
  RunResult r = RunPipeline();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The data rows and the 4 header lines were read; the filter kept what it should.
  EXPECT_THAT(r.err, HasSubstr(std::to_string(kRows + 4) + " records in"));
  EXPECT_THAT(r.err, HasSubstr(std::to_string(KeptByFilter(kRows)) +
                               " rows out, 0 dead letters, "
                               "0 late, 0 batch retries, 0 failed task attempts"));
  const int64_t kept = KeptByFilter(kRows);
  EXPECT_EQ(Query(db_, "SELECT COUNT(*), COUNT(DISTINCT id), SUM(amount) FROM rows"),
            (std::vector<std::vector<int64_t>>{{kept, kept, [&] {
                                                  int64_t sum = 0;
                                                  for (int id = 1; id <= kRows; ++id)
                                                    sum += std::max(0, id % 10 - 2);
                                                  return sum;
                                                }()}}));
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM rows WHERE amount <= 0 OR currency NOT IN "
                       "('EUR', 'USD')"),
            (std::vector<std::vector<int64_t>>{{0}}));
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM onceflow_dead_letters"),
            (std::vector<std::vector<int64_t>>{{0}}));

  // More of the same file: the header is checked against every partition and not written
  // again; the data rows follow.
  RunResult more = RunData({"produce", "rows", "--csv-header"}, CsvFile(10));
  ASSERT_EQ(more.exit_code, 0) << more.err;
  int64_t after = 0;
  for (int64_t e : EndOffsets("rows")) after += e;
  EXPECT_EQ(after, total + 10);
}

TEST_F(CliTransformsTest, CsvFileProducedWithoutItsHeaderFlagIsRefusedNotGuessed) {
  ASSERT_EQ(RunData({"topics", "create", "rows", "--partitions", "4"}).exit_code, 0);
  ASSERT_EQ(RunData({"produce", "rows"}, CsvFile(40000)).exit_code, 0);
  WriteCsvPipeline("amount > 0");
  RunResult r = RunPipeline();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("every partition of a csv topic must start with the same header "
                               "line"));
  EXPECT_THAT(r.err, HasSubstr("onceflow produce TOPIC --csv-header < FILE"));
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM rows"), (std::vector<std::vector<int64_t>>{{0}}));
}

TEST_F(CliTransformsTest, ProduceCsvHeaderRefusesATopicThatStartsWithAnotherHeader) {
  ASSERT_EQ(RunData({"topics", "create", "rows", "--partitions", "2"}).exit_code, 0);
  ASSERT_EQ(RunData({"produce", "rows", "--csv-header"}, CsvFile(100)).exit_code, 0);
  const std::vector<int64_t> before = EndOffsets("rows");
  RunResult r = RunData({"produce", "rows", "--csv-header"}, CsvFile(100, "id,price,currency"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--csv-header: topic 'rows' partition 0 starts with "
                               "'id,amount,currency' (offset 0), not with this file's header "
                               "'id,price,currency'"));
  EXPECT_EQ(EndOffsets("rows"), before);  // nothing written
}

TEST_F(CliTransformsTest, AFieldTheHeaderLacksIsRefusedAtStartNamingTheKey) {
  ASSERT_EQ(RunData({"topics", "create", "rows", "--partitions", "4"}).exit_code, 0);
  ASSERT_EQ(RunData({"produce", "rows", "--csv-header"}, CsvFile(1000)).exit_code, 0);
  WriteCsvPipeline("amuont > 0");
  RunResult r = RunPipeline();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("transform[0].where[0]: field 'amuont' can never exist: the rows "
                               "have id, amount, currency here (the csv header line of "
                               "partition "));
  EXPECT_THAT(r.err, Not(HasSubstr("caught up")));
}

TEST_F(CliTransformsTest, ARunWhoseEveryRecordIsDeadLetteredSaysSoLoudly) {
  ASSERT_EQ(RunData({"topics", "create", "events", "--partitions", "2"}).exit_code, 0);
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += "{\"id\":" + std::to_string(i) + ",\"amount\":5}\n";
  ASSERT_EQ(RunData({"produce", "events"}, lines).exit_code, 0);
  WriteWholeFile(toml_, R"toml(name = "events"
[source]
topic = "events"
[[transform]]
type = "filter"
where = ["amuont > 0"]
[sink]
path = "out.db"
init = ["CREATE TABLE IF NOT EXISTS events(id INTEGER, amount INTEGER)"]
table = "events"
)toml");
  RunResult r = RunPipeline();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("500 dead letters, 0 late"));
  EXPECT_THAT(r.err, HasSubstr("WARNING: every record of this run was dead-lettered (500 of "
                               "500): nothing reached the sink's output. The errors are in the "
                               "table onceflow_dead_letters of " +
                               db_));
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM events"), (std::vector<std::vector<int64_t>>{{0}}));
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM onceflow_dead_letters WHERE error = 'filter: field "
                       "''amuont'' is missing (condition ''amuont > 0''); on_missing = \"null\" "
                       "reads a missing field as null'"),
            (std::vector<std::vector<int64_t>>{{500}}));

  // With null semantics asked for, the same filter keeps nothing and dead-letters nothing.
  std::string lenient = ReadWholeFile(toml_);
  lenient.replace(lenient.find("name = \"events\""), 15, "name = \"lenient\"");
  lenient.replace(lenient.find("where = [\"amuont > 0\"]"), 22,
                  "where = [\"amuont > 0\"]\non_missing = \"null\"");
  WriteWholeFile(toml_, lenient);
  RunResult again = RunPipeline();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("500 records in"));
  EXPECT_THAT(again.err, HasSubstr("0 rows out, 0 dead letters"));
  EXPECT_THAT(again.err, Not(HasSubstr("WARNING")));
}

TEST_F(CliTransformsTest, ACsvRunWhoseEveryDataRowIsDeadLetteredSaysSoLoudly) {
  ASSERT_EQ(RunData({"topics", "create", "rows", "--partitions", "4"}).exit_code, 0);
  ASSERT_EQ(RunData({"produce", "rows", "--csv-header", "--batch-records", "100"}, CsvFile(1000))
                .exit_code,
            0);
  WriteCsvPipeline("currency > 5");  // a string compared with a number: an error per row
  RunResult r = RunPipeline();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("1004 records in"));  // the header lines are not data
  EXPECT_THAT(r.err, HasSubstr("WARNING: every record of this run was dead-lettered (1000 of "
                               "1000)"));
}

TEST_F(CliTransformsTest, RunLinesCountRetriesAndFailedAttempts) {
  ASSERT_EQ(RunData({"topics", "create", "events", "--partitions", "2"}).exit_code, 0);
  std::string lines;
  for (int i = 0; i < 100; ++i) lines += "{\"id\":" + std::to_string(i) + "}\n";
  lines += "not json\n";
  ASSERT_EQ(RunData({"produce", "events"}, lines).exit_code, 0);
  WriteWholeFile(toml_, R"toml(name = "events"
[source]
topic = "events"
[sink]
path = "out.db"
init = ["CREATE TABLE IF NOT EXISTS events(id INTEGER)"]
table = "events"
)toml");
  RunResult r =
      Run({"run", toml_, "--data", data_, "--until-caught-up", "--progress-interval", "0.000001"},
          "", {{"ONCEFLOW_FAULTS", "task=throw#1,mid_sink_write=throw#1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The summary and the progress line both carry the counts.
  EXPECT_THAT(r.err, HasSubstr("101 records in"));
  EXPECT_THAT(r.err, HasSubstr("100 rows out, 1 dead letters, 0 late, 1 batch retries, 1 failed "
                               "task attempts"));
  EXPECT_THAT(r.err, HasSubstr("; 1 dead letters, 0 late, 1 batch retries, 1 failed task "
                               "attempts\n"));
  EXPECT_THAT(r.err, HasSubstr("1 records were dead-lettered (0 of them late): see the table "
                               "onceflow_dead_letters of " +
                               db_));
  EXPECT_EQ(Query(db_, "SELECT COUNT(*), COUNT(DISTINCT id) FROM events"),
            (std::vector<std::vector<int64_t>>{{100, 100}}));
}

// Time-ordered events produced by `onceflow produce` (chunks spread over the partitions) and
// counted in 1-minute windows with emit = "final": none is late, and with
// emit_open_windows_at_end every window is emitted exactly once by --until-caught-up.
TEST_F(CliTransformsTest, TimeOrderedEventsOverFourPartitionsAreNeverLate) {
  constexpr int kEvents = 40000;
  ASSERT_EQ(RunData({"topics", "create", "clicks", "--partitions", "4"}).exit_code, 0);
  std::string lines;
  for (int i = 0; i < kEvents; ++i) {
    lines += "{\"user\":\"u" + std::to_string(i % 7) +
             "\",\"ts\":" + std::to_string(int64_t{1700000000000} + int64_t{i} * 50) + "}\n";
  }
  ASSERT_EQ(RunData({"produce", "clicks", "--batch-records", "1000"}, lines).exit_code, 0);
  for (int64_t e : EndOffsets("clicks")) EXPECT_GT(e, 0);
  WriteWholeFile(toml_, R"toml(name = "clicks"
max_records_per_partition = 1500
[source]
topic = "clicks"
[[transform]]
type = "aggregate"
key = ["user"]
aggregates = { n = "count" }
window = { type = "tumbling", size = "1m", time_field = "ts", emit = "final", emit_open_windows_at_end = true }
[sink]
path = "out.db"
init = ["CREATE TABLE IF NOT EXISTS clicks(user TEXT, window_start INTEGER, window_end INTEGER, n INTEGER)"]
table = "clicks"
)toml");
  RunResult r = RunPipeline();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(std::to_string(kEvents) + " records in"));
  EXPECT_THAT(r.err, HasSubstr("0 dead letters, 0 late"));
  EXPECT_THAT(r.err, HasSubstr("closes the event-time windows still open"));
  // Every (user, window) once, with its exact count.
  std::map<std::pair<int64_t, int64_t>, int64_t> expected;
  for (int i = 0; i < kEvents; ++i) {
    const int64_t ts = int64_t{1700000000000} + int64_t{i} * 50;
    ++expected[{i % 7, ts - ts % 60000}];
  }
  std::vector<std::vector<int64_t>> rows;
  for (const auto& [k, n] : expected) rows.push_back({k.first, k.second, n});
  EXPECT_EQ(Query(db_, "SELECT CAST(substr(user, 2) AS INTEGER) AS u, window_start, n FROM "
                       "clicks ORDER BY u, window_start"),
            rows);
  // A second run has nothing to close and emits nothing again.
  RunResult again = RunPipeline();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("0 batches committed"));
  EXPECT_EQ(Query(db_, "SELECT COUNT(*) FROM clicks"),
            (std::vector<std::vector<int64_t>>{{static_cast<int64_t>(rows.size())}}));
}

}  // namespace
}  // namespace onceflow::testing
