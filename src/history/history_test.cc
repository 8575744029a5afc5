// HistoryWriter, ReadBatchHistory and the JSON of a record: round trips, torn tails, damage
// named, bounding by generations, reading while a writer appends.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "history/history_file.h"
#include "history/history_format.h"
#include "history/history_writer.h"
#include "history/visibility_sketch.h"
#include "onceflow/batch_history.h"
#include "testing/temp_dir.h"
#include "util/file.h"

namespace onceflow::history {
namespace {

BatchRecord Committed(int64_t id) {
  BatchRecord b;
  b.batch_id = id;
  b.epoch = 3;
  b.batch_time_ms = 1700000000000 + id;
  b.outcome = "committed";
  b.records_in = 10 + id;
  b.rows_out = 20 + id;
  b.end_time_ms = 1700000000500 + id;
  b.phases.compute_us = 7;
  b.partitions.push_back({.partition = 1,
                          .from = id * 10,
                          .until = id * 10 + 10,
                          .end_offset = 100,
                          .lag_records = 90 - id * 10,
                          .lag_seconds = 0.5,
                          .drain_eta_seconds = -1});
  b.tasks.push_back(
      {.task = 0, .partition = 1, .attempt = 0, .outcome = "won", .duration_us = 42, .error = ""});
  return b;
}

std::vector<int64_t> Ids(const HistoryReadResult& r) {
  std::vector<int64_t> ids;
  for (const BatchRecord& b : r.batches) ids.push_back(b.batch_id);
  return ids;
}

std::unique_ptr<HistoryWriter> OpenWriter(const std::string& dir, int64_t max_batches,
                                          std::vector<std::string>* lines = nullptr) {
  HistoryWriterOptions options;
  options.max_batches = max_batches;
  if (lines != nullptr) options.log = [lines](const std::string& l) { lines->push_back(l); };
  Result<std::unique_ptr<HistoryWriter>> w = HistoryWriter::Open(dir, std::move(options));
  EXPECT_TRUE(w.has_value()) << w.error().ToString();
  return w.has_value() ? std::move(*w) : nullptr;
}

// Replaces a file's contents (not durably: a test's scratch file).
void Overwrite(const std::string& path, std::string_view bytes) {
  Result<File> f = File::Open(path, File::Mode::kCreate);
  ASSERT_TRUE(f.has_value());
  ASSERT_TRUE(f->Truncate(0).ok());
  ASSERT_TRUE(f->WriteAt(0, bytes).ok());
}

// The path of the newest generation file.
std::string NewestFile(const std::string& checkpoint_dir) {
  Result<std::vector<std::string>> names = ListDir(HistoryDir(checkpoint_dir));
  EXPECT_TRUE(names.has_value() && !names->empty());
  return JoinPath(HistoryDir(checkpoint_dir), names->back());
}

TEST(BatchRecordJsonTest, RoundTripsEveryField) {
  BatchRecord b = Committed(5);
  b.error = "a \"quoted\"\nline";
  b.replayed = true;
  b.reconstructed = true;
  b.tasks.push_back({.task = 1,
                     .partition = -1,
                     .attempt = 2,
                     .outcome = "failed",
                     .duration_us = 9,
                     .error = "boom\t\x01"});
  b.visibility_p50_ms = 11;
  b.visibility_p99_ms = 12;
  b.visibility_max_ms = 13;
  b.phases = {1, 2, 3, 4, 5, 6};
  const std::string json = BatchRecordToJson(b);
  Result<BatchRecord> back = BatchRecordFromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().ToString() << "\n" << json;
  EXPECT_EQ(BatchRecordToJson(*back), json);
  EXPECT_EQ(back->error, b.error);
  EXPECT_EQ(back->tasks.at(1).error, "boom\t\x01");
  EXPECT_EQ(back->partitions.at(0).lag_seconds, 0.5);
  EXPECT_EQ(back->phases.commit_record_us, 6);
}

TEST(BatchRecordJsonTest, AnErrorThatIsNotUtf8StillReadsBack) {
  // An error may quote a record's bytes; its record must stay readable (it is one JSON text).
  BatchRecord b = Committed(6);
  b.error = "bad key \xff\xfe in \xc3\xa9t\xc3";
  Result<BatchRecord> back = BatchRecordFromJson(BatchRecordToJson(b));
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(back->error, "bad key \xef\xbf\xbd\xef\xbf\xbd in \xc3\xa9t\xef\xbf\xbd");
}

TEST(BatchRecordJsonTest, MissingFieldsKeepDefaultsAndAWrongTypeIsNamed) {
  Result<BatchRecord> b = BatchRecordFromJson(R"({"batch_id":4,"future_field":[1]})");
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  EXPECT_EQ(b->batch_id, 4);
  EXPECT_EQ(b->visibility_p99_ms, -1);
  Result<BatchRecord> bad = BatchRecordFromJson(R"({"batch_id":"x"})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("batch_id"), std::string::npos) << bad.error().ToString();
  Result<BatchRecord> bad_task = BatchRecordFromJson(R"({"tasks":[{"attempt":true}]})");
  ASSERT_FALSE(bad_task.has_value());
  EXPECT_NE(bad_task.error().message().find("tasks[].attempt"), std::string::npos);
}

TEST(HistoryFileNameTest, MakeAndParseArePaired) {
  EXPECT_EQ(MakeHistoryFileName(3), "00000000000000000003.history");
  EXPECT_EQ(ParseHistoryFileName(MakeHistoryFileName(123456)), 123456u);
  EXPECT_FALSE(ParseHistoryFileName("00000000000000000003.log").has_value());
  EXPECT_FALSE(ParseHistoryFileName("0000000000000000000x.history").has_value());
  const std::string made = MakeBatchKey(77, "failed");  // the parsed key views into it
  std::optional<ParsedBatchKey> key = ParseBatchKey(made);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->batch_id, 77);
  EXPECT_EQ(key->outcome, "failed");
  EXPECT_FALSE(ParseBatchKey("batch:x:committed").has_value());
}

TEST(HistoryTest, NoHistoryReadsAsNoBatches) {
  testing::TempDir dir("history");
  Result<HistoryReadResult> r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->batches.empty());
  EXPECT_TRUE(r->warning.empty());
}

TEST(HistoryTest, RecordsSurviveReopenInOrderAndLimitTakesTheNewest) {
  testing::TempDir dir("history");
  {
    auto w = OpenWriter(dir.path(), 100);
    for (int64_t i = 0; i < 5; ++i) w->Append(Committed(i));
  }
  auto w = OpenWriter(dir.path(), 100);
  EXPECT_EQ(w->last_committed_at_open(), 4);
  w->Append(Committed(5));
  Result<HistoryReadResult> all = ReadBatchHistory(dir.path());
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(Ids(*all), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(all->batches[3].records_in, 13);
  EXPECT_EQ(all->batches[3].tasks.at(0).duration_us, 42);
  Result<HistoryReadResult> last2 = ReadBatchHistory(dir.path(), 2);
  ASSERT_TRUE(last2.has_value());
  EXPECT_EQ(Ids(*last2), (std::vector<int64_t>{4, 5}));
}

TEST(HistoryTest, TornTailIsIgnoredByReadersAndCutByTheNextWriter) {
  testing::TempDir dir("history");
  {
    auto w = OpenWriter(dir.path(), 100);
    for (int64_t i = 0; i < 3; ++i) w->Append(Committed(i));
  }
  const std::string file = NewestFile(dir.path());
  Result<std::string> bytes = ReadFileToString(file);
  ASSERT_TRUE(bytes.has_value());
  const std::string whole = *bytes;
  // Every cut inside the last entry is a torn tail: the first two records, no warning.
  const std::string third = EncodeHistoryEntry(
      MakeBatchKey(2, "committed"), BatchRecordToJson(Committed(2)), Committed(2).end_time_ms, 3);
  ASSERT_TRUE(whole.ends_with(third));
  for (size_t cut = 1; cut < third.size(); cut += 7) {
    Overwrite(file, whole.substr(0, whole.size() - cut));
    Result<HistoryReadResult> r = ReadBatchHistory(dir.path());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(Ids(*r), (std::vector<int64_t>{0, 1})) << "cut " << cut;
    EXPECT_TRUE(r->warning.empty()) << r->warning;
  }
  // Zeros after the last whole entry (a power loss after the file grew): torn too.
  ASSERT_TRUE(WriteFileAtomically(file, whole + std::string(300, '\0')).ok());
  Result<HistoryReadResult> zeros = ReadBatchHistory(dir.path());
  ASSERT_TRUE(zeros.has_value());
  EXPECT_EQ(Ids(*zeros), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_TRUE(zeros->warning.empty()) << zeros->warning;
  // The next writer appends after the last whole entry.
  ASSERT_TRUE(WriteFileAtomically(file, whole.substr(0, whole.size() - 5)).ok());
  {
    auto w = OpenWriter(dir.path(), 100);
    EXPECT_EQ(w->last_committed_at_open(), 1);
    w->Append(Committed(2));
    w->Append(Committed(3));
  }
  Result<HistoryReadResult> r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Ids(*r), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(r->warning.empty()) << r->warning;
}

TEST(HistoryTest, DamagedFileIsNamedAndTheWriterStartsANewGeneration) {
  testing::TempDir dir("history");
  {
    auto w = OpenWriter(dir.path(), 100);
    for (int64_t i = 0; i < 4; ++i) w->Append(Committed(i));
  }
  const std::string file = NewestFile(dir.path());
  Result<std::string> bytes = ReadFileToString(file);
  ASSERT_TRUE(bytes.has_value());
  // Flip a byte inside the third entry's value: entries 0 and 1 remain, 2 and 3 are skipped.
  const std::string needle = "\"batch_id\":2";
  const size_t at = bytes->find(needle);
  ASSERT_NE(at, std::string::npos);
  (*bytes)[at + needle.size() - 1] = '9';
  ASSERT_TRUE(WriteFileAtomically(file, *bytes).ok());
  Result<HistoryReadResult> r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Ids(*r), (std::vector<int64_t>{0, 1}));
  EXPECT_NE(r->warning.find(file), std::string::npos) << r->warning;
  EXPECT_NE(r->warning.find("checksum"), std::string::npos) << r->warning;
  // The pipeline still runs: a writer says it once and appends to a new file.
  std::vector<std::string> lines;
  auto w = OpenWriter(dir.path(), 100, &lines);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(file), std::string::npos) << lines[0];
  w->Append(Committed(4));
  EXPECT_TRUE(w->enabled());
  r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Ids(*r), (std::vector<int64_t>{0, 1, 4}));
}

TEST(HistoryTest, BoundedToTheLastMaxBatchesByTwoGenerations) {
  testing::TempDir dir("history");
  {
    auto w = OpenWriter(dir.path(), 4);
    for (int64_t i = 0; i < 11; ++i) {
      w->Append(Committed(i));
      Result<std::vector<std::string>> names = ListDir(HistoryDir(dir.path()));
      ASSERT_TRUE(names.has_value());
      EXPECT_LE(names->size(), static_cast<size_t>(kGenerationsKept));
    }
  }
  Result<HistoryReadResult> r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Ids(*r), (std::vector<int64_t>{7, 8, 9, 10}));
  // Another bound in a later run: a new generation carries it.
  {
    auto w = OpenWriter(dir.path(), 2);
    w->Append(Committed(11));
  }
  r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Ids(*r), (std::vector<int64_t>{10, 11}));
}

TEST(HistoryTest, ANewestFileCutBeforeItsHeaderIsStartedAgainKeepingTheOlderOne) {
  testing::TempDir dir("history");
  {
    auto w = OpenWriter(dir.path(), 2);
    for (int64_t i = 0; i < 3; ++i) w->Append(Committed(i));  // the third starts generation 2
  }
  Overwrite(NewestFile(dir.path()), "");  // a crash right after the roll created it
  Result<HistoryReadResult> r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Ids(*r), (std::vector<int64_t>{0, 1}));
  {
    auto w = OpenWriter(dir.path(), 2);
    w->Append(Committed(2));
  }
  r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Ids(*r), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(r->warning.empty()) << r->warning;
}

TEST(HistoryTest, TwoCommittedRecordsOfOneBatchReadAsOneCommit) {
  testing::TempDir dir("history");
  {
    auto w = OpenWriter(dir.path(), 100);
    BatchRecord failed = Committed(0);
    failed.outcome = "failed";
    failed.error = "sink down";
    w->Append(failed);
    w->Append(Committed(0));
    w->Append(Committed(0));
  }
  Result<HistoryReadResult> r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->batches.size(), 3u);
  EXPECT_EQ(r->batches[0].outcome, "failed");
  EXPECT_EQ(r->batches[1].outcome, "superseded");
  EXPECT_EQ(r->batches[2].outcome, "committed");
}

TEST(HistoryTest, AnUnwritableDirectoryTurnsTheWriterOffWithOneLine) {
  testing::TempDir dir("history");
  std::vector<std::string> lines;
  auto w = OpenWriter(dir.path(), 2, &lines);
  w->Append(Committed(0));
  w->Append(Committed(1));
  // The next append rolls to a new file, which cannot be created where the directory was.
  ASSERT_TRUE(RemoveAll(HistoryDir(dir.path())).ok());
  ASSERT_TRUE(WriteFileAtomically(HistoryDir(dir.path()), "not a directory").ok());
  w->Append(Committed(2));
  w->Append(Committed(3));
  EXPECT_FALSE(w->enabled());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(HistoryDir(dir.path())), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("turned off"), std::string::npos) << lines[0];
}

TEST(HistoryTest, ReadersWhileAWriterAppendsSeeAPrefixWithoutDuplicatesOrWarnings) {
  testing::TempDir dir("history");
  auto w = OpenWriter(dir.path(), 50);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int64_t i = 0; i < 3000; ++i) w->Append(Committed(i));
    done = true;
  });
  int reads = 0;
  while (!done || reads < 3) {
    Result<HistoryReadResult> r = ReadBatchHistory(dir.path());
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->warning.empty()) << r->warning;
    std::vector<int64_t> ids = Ids(*r);
    // Contiguous and bounded: the newest records, in order, at most max_batches of them.
    EXPECT_LE(ids.size(), 50u);
    for (size_t i = 1; i < ids.size(); ++i) ASSERT_EQ(ids[i], ids[i - 1] + 1);
    ++reads;
  }
  writer.join();
  Result<HistoryReadResult> r = ReadBatchHistory(dir.path());
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->batches.size(), 50u);
  EXPECT_EQ(r->batches.back().batch_id, 2999);
}

TEST(VisibilitySketchTest, QuantilesWithinABucketAndMaxExact) {
  VisibilitySketch sketch(10000);
  // 100 records aged 0..99 ms at the reference; seen 50 ms after it.
  for (int64_t age = 0; age < 100; ++age) sketch.Add(10000 - age);
  VisibilitySketch::Latency l = sketch.LatencyAt(10050);
  EXPECT_EQ(l.max_ms, 149);
  EXPECT_NEAR(static_cast<double>(l.p50_ms), 99, 99 * 0.07);
  EXPECT_NEAR(static_cast<double>(l.p99_ms), 148, 148 * 0.07);
  EXPECT_EQ(VisibilitySketch().LatencyAt(5).p50_ms, -1);
}

TEST(VisibilitySketchTest, MergeMovesAgesToTheNewReference) {
  VisibilitySketch a(1000), b(3000), merged(5000);
  for (int i = 0; i < 10; ++i) a.Add(1000);  // age 0 at 1000: 4000 at 5000
  for (int i = 0; i < 10; ++i) b.Add(2990);  // age 10 at 3000: 2010 at 5000
  merged.Merge(a);
  merged.Merge(b);
  EXPECT_EQ(merged.count(), 20);
  VisibilitySketch::Latency l = merged.LatencyAt(5000);
  EXPECT_EQ(l.max_ms, 4000);
  EXPECT_NEAR(static_cast<double>(l.p50_ms), 2010, 2010 * 0.07);
  EXPECT_NEAR(static_cast<double>(l.p99_ms), 4000, 4000 * 0.07);
  // Every bucket's middle lies in it.
  for (int bucket = 0; bucket < VisibilitySketch::kBuckets; ++bucket) {
    ASSERT_EQ(
        VisibilitySketch::BucketOf(static_cast<uint64_t>(VisibilitySketch::BucketMiddle(bucket))),
        bucket);
  }
}

}  // namespace
}  // namespace onceflow::history
