// End-to-end: what the user sees when the embedded log loses data. A torn tail cut by a writer
// is said on stderr and listed by `topics describe`; a damaged segment is read up to the damage
// and then refused with the command that gets past it; that command works, and readers then say
// which offsets they skip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "log/log_format.h"
#include "log/record_batch.h"
#include "testing/cli_test_base.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/sqlite_query.h"
#include "testing/status_table.h"

namespace onceflow::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CliLogDamageTest : public CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    if (HasFatalFailure()) return;
  }

  // Creates topic `name` with one partition and produces `n` lines "record-<i>" in batches of
  // ten records or more, one `produce` per `chunk` lines (0: one for all).
  void CreateAndProduce(const std::string& name, int n, std::vector<std::string> extra = {},
                        int chunk = 0) {
    std::vector<std::string> args = {"topics", "create", name};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult c = RunData(args);
    ASSERT_EQ(c.exit_code, 0) << c.err;
    if (chunk == 0) chunk = n;
    for (int from = 0; from < n; from += chunk) {
      std::string input;
      for (int i = from; i < std::min(n, from + chunk); ++i) {
        input += "record-" + std::to_string(i) + "\n";
      }
      RunResult p = RunData({"produce", name, "--batch-records", "10"}, input);
      ASSERT_EQ(p.exit_code, 0) << p.err;
    }
  }

  std::vector<std::string> Segments(const std::string& topic) const {
    std::vector<std::string> logs;
    for (const auto& e : std::filesystem::directory_iterator(data_ + "/topics/" + topic + "/0")) {
      if (e.path().extension() == ".log") logs.push_back(e.path().string());
    }
    std::sort(logs.begin(), logs.end());
    return logs;
  }

  // Position and header of the batch holding `offset` in segment `path`.
  static std::pair<uint64_t, log::BatchHeader> BatchHolding(const std::string& path,
                                                            int64_t offset) {
    const std::string bytes = ReadWholeFile(path);
    uint64_t p = 0;
    while (p < bytes.size()) {
      auto h = log::ParseBatchHeader(std::string_view(bytes).substr(p));
      EXPECT_TRUE(h.has_value());
      if (!h.has_value()) break;
      if (h->next_offset().value() > offset) return {p, *h};
      p += h->length;
    }
    ADD_FAILURE() << "no batch holds offset " << offset << " in " << path;
    return {0, {}};
  }
};

TEST_F(CliLogDamageTest, TornTailIsReportedByTheWriterAndListedByDescribe) {
  CreateAndProduce("t", 100);
  // A last group write of its own: ten more records in one batch.
  std::string tail;
  for (int i = 100; i < 110; ++i) tail += "record-" + std::to_string(i) + "\n";
  RunResult p10 = RunData({"produce", "t", "--batch-records", "10"}, tail);
  ASSERT_EQ(p10.exit_code, 0) << p10.err;
  const std::string segment = Segments("t").back();
  const auto [at, header] = BatchHolding(segment, 109);
  const int64_t base = header.base_offset.value();
  ASSERT_GE(base, 100);
  // The last group write never completed: its end is missing.
  std::filesystem::resize_file(segment, std::filesystem::file_size(segment) - 3);

  RunResult p = RunData({"produce", "t"}, "after\n");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_THAT(p.err, HasSubstr("onceflow: warning: log: cut a torn tail off topic 't' partition "
                               "0 (" +
                               segment + " byte " + std::to_string(at) + "): offsets " +
                               std::to_string(base) + "..109 lost"));

  RunResult d = RunData({"topics", "describe", "t"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_THAT(d.out, HasSubstr("LOSSES"));
  EXPECT_THAT(d.out, HasSubstr("torn tail  " + std::to_string(base) + "..109"));
  EXPECT_THAT(d.out, HasSubstr("byte " + std::to_string(at) + " of " +
                               std::filesystem::path(segment).filename().string()));

  // Nothing more is said by later writers: the cut was made once.
  RunResult again = RunData({"produce", "t"}, "again\n");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, Not(HasSubstr("torn tail")));
  RunResult c = RunData({"consume", "t", "--partition", "0", "--offset", std::to_string(base - 1),
                         "--print-offsets"});
  EXPECT_EQ(c.out, "0:" + std::to_string(base - 1) + " record-" + std::to_string(base - 1) +
                       "\n0:" + std::to_string(base) + " after\n0:" + std::to_string(base + 1) +
                       " again\n");
}

TEST_F(CliLogDamageTest, DamagedSegmentIsReadUpToTheDamageAndRepairSkipsIt) {
  CreateAndProduce("fragile", 2000, {"--segment-bytes", "4096"});
  std::vector<std::string> segments = Segments("fragile");
  ASSERT_GE(segments.size(), 3u);
  const std::string first = segments.front();
  const auto [at, header] = BatchHolding(first, 35);
  const int64_t lost_first = header.base_offset.value();
  const int64_t lost_last = header.next_offset().value() - 1;
  std::string bytes = ReadWholeFile(first);
  bytes[at + log::kBatchHeaderSize + 3] ^= 0x21;
  WriteWholeFile(first, bytes);

  const std::string repair =
      "onceflow topics repair fragile --partition 0 --skip-damaged --data " + data_;
  RunResult c = RunData({"consume", "fragile", "--print-offsets"});
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_EQ(SplitLines(c.out).size(), static_cast<size_t>(lost_first))
      << "every record before the damaged batch is printed";
  EXPECT_EQ(SplitLines(c.out).back(),
            "0:" + std::to_string(lost_first - 1) + " record-" + std::to_string(lost_first - 1));
  EXPECT_THAT(c.err, HasSubstr("onceflow: error: corruption: "));
  EXPECT_THAT(c.err, HasSubstr("at byte " + std::to_string(at) + " of " + first + " (offset " +
                               std::to_string(lost_first) + ")"));
  EXPECT_THAT(c.err, HasSubstr(repair));
  EXPECT_EQ(SplitLines(c.err).size(), 1u) << c.err;

  // Without --skip-damaged: a report, nothing changed, exit 1 naming the command.
  RunResult report = RunData({"topics", "repair", "fragile"});
  EXPECT_EQ(report.exit_code, 1);
  EXPECT_THAT(report.out, HasSubstr("topic 'fragile' partition 0: offsets " +
                                    std::to_string(lost_first) + ".." + std::to_string(lost_last) +
                                    " damaged at byte " + std::to_string(at) + " of " + first));
  EXPECT_THAT(report.err, HasSubstr(repair));
  EXPECT_EQ(ReadWholeFile(first), bytes);

  // The named command works.
  RunResult fixed =
      Run({"topics", "repair", "fragile", "--partition", "0", "--skip-damaged", "--data", data_});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_THAT(fixed.out, HasSubstr("recorded as lost"));

  RunResult after = RunData({"consume", "fragile", "--print-offsets"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  const std::vector<std::string> lines = SplitLines(after.out);
  EXPECT_EQ(lines.size(), static_cast<size_t>(2000 - (lost_last - lost_first + 1)));
  EXPECT_EQ(lines.at(static_cast<size_t>(lost_first)),
            "0:" + std::to_string(lost_last + 1) + " record-" + std::to_string(lost_last + 1));
  EXPECT_THAT(after.err,
              HasSubstr("onceflow: warning: log: offsets " + std::to_string(lost_first) + ".." +
                        std::to_string(lost_last) + " of topic 'fragile' partition 0"));
  EXPECT_THAT(after.err, HasSubstr("recorded as lost"));

  RunResult d = RunData({"topics", "describe", "fragile"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_THAT(d.out, HasSubstr("skipped    " + std::to_string(lost_first) + ".." +
                               std::to_string(lost_last)));
  EXPECT_THAT(d.out, HasSubstr(std::to_string(2000 - (lost_last - lost_first + 1))));

  RunResult clean = RunData({"topics", "repair", "fragile"});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_THAT(clean.out, HasSubstr("topic 'fragile' partition 0: no damage found"));
  RunResult more = RunData({"produce", "fragile"}, "new\n");
  ASSERT_EQ(more.exit_code, 0) << more.err;
  RunResult last =
      RunData({"consume", "fragile", "--partition", "0", "--offset", "2000", "--print-offsets"});
  EXPECT_EQ(last.out, "0:2000 new\n");
}

TEST_F(CliLogDamageTest, PipelineReadingAcrossASkippedRangeSaysSoAndVerifies) {
  CreateAndProduce("lines", 600, {"--segment-bytes", "4096"}, /*chunk=*/50);
  ASSERT_GE(Segments("lines").size(), 2u);
  const std::string first = Segments("lines").front();
  const auto [at, header] = BatchHolding(first, 75);
  ASSERT_LT(header.next_offset().value(), 200) << "a sealed segment holds the damage";
  const int64_t lost_first = header.base_offset.value();
  const int64_t lost_last = header.next_offset().value() - 1;
  std::string bytes = ReadWholeFile(first);
  bytes[at + log::kBatchHeaderSize + 3] ^= 0x21;
  WriteWholeFile(first, bytes);
  const std::string toml = tmp_ + "/lines.toml";
  WriteWholeFile(toml, R"toml(name = "lines"
batch_interval_ms = 20
max_records_per_partition = 100
[source]
type = "log"
topic = "lines"
format = "raw"
[sink]
type = "sqlite"
path = "lines.db"
init = ["CREATE TABLE IF NOT EXISTS lines(value TEXT)"]
mode = "append"
table = "lines"
)toml");

  // Before the repair the pipeline stops at the damage, naming the way out.
  RunResult refused = RunData({"run", toml, "--until-caught-up"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("onceflow topics repair lines --partition 0 --skip-damaged"));

  RunResult fixed = RunData({"topics", "repair", "lines", "--skip-damaged"});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  RunResult run = RunData({"run", toml, "--until-caught-up"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string warning = "onceflow: warning: log: offsets " + std::to_string(lost_first) +
                              ".." + std::to_string(lost_last) + " of topic 'lines' partition 0";
  EXPECT_THAT(run.err, HasSubstr(warning));
  EXPECT_EQ(run.err.find(warning), run.err.rfind(warning)) << "one line per range: " << run.err;
  const int64_t lost = lost_last - lost_first + 1;
  const std::string db = tmp_ + "/lines.db";
  EXPECT_EQ(SqliteInts(db, "SELECT count(*) FROM lines").at(0).at(0), 600 - lost);
  EXPECT_EQ(SqliteInts(db, "SELECT count(*) FROM lines WHERE value = 'record-" +
                               std::to_string(lost_first) + "'")
                .at(0)
                .at(0),
            0);
  EXPECT_EQ(SqliteInts(db, "SELECT count(*) FROM lines WHERE value = 'record-" +
                               std::to_string(lost_last + 1) + "'")
                .at(0)
                .at(0),
            1);
  RunResult verify = RunData({"verify", toml});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace onceflow::testing
