// HistoryCache: every read answers exactly as ReadBatchHistory over the same files — through
// appends, rolled generations, limits, a truncated or rewritten file, damage, a reset pipeline —
// while reading only what was appended; and reads from many threads during appends.
#include "ui/history_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "history/history_file.h"
#include "history/history_format.h"
#include "history/history_writer.h"
#include "testing/temp_dir.h"
#include "util/file.h"

namespace onceflow::ui {
namespace {

BatchRecord CacheTestRecord(int64_t id, std::string outcome = "committed") {
  BatchRecord b;
  b.batch_id = id;
  b.epoch = 2;
  b.outcome = std::move(outcome);
  b.records_in = id * 3;
  b.rows_out = id * 3 - 1;
  b.end_time_ms = 1765000000000 + id;
  b.partitions.push_back({.partition = 0, .from = id * 3, .until = id * 3 + 3, .end_offset = 900});
  b.tasks.push_back(
      {.task = 0, .partition = 0, .attempt = 0, .outcome = "won", .duration_us = 5, .error = ""});
  return b;
}

std::unique_ptr<history::HistoryWriter> OpenCacheTestWriter(const std::string& dir,
                                                            int64_t max_batches) {
  history::HistoryWriterOptions options;
  options.max_batches = max_batches;
  Result<std::unique_ptr<history::HistoryWriter>> w =
      history::HistoryWriter::Open(dir, std::move(options));
  EXPECT_TRUE(w.has_value()) << w.error().ToString();
  return w.has_value() ? std::move(*w) : nullptr;
}

// The records as JSON lines (outcome included: "superseded" too), and the warning.
std::string Describe(const HistoryRecords& records, const std::string& warning) {
  std::string out;
  for (const BatchRecord& b : records) out += BatchRecordToJson(b) + "\n";
  return out + "warning: " + warning;
}
std::string Describe(const HistoryReadResult& r) {
  std::string out;
  for (const BatchRecord& b : r.batches) out += BatchRecordToJson(b) + "\n";
  return out + "warning: " + r.warning;
}

// Reads through `cache` with each limit and checks the answers equal ReadBatchHistory's.
void ExpectSameAsReader(HistoryCache& cache, const std::string& dir) {
  for (int64_t limit : {-1, 0, 1, 3, 1000}) {
    Result<CachedHistory> cached = cache.Read(dir, limit);
    Result<HistoryReadResult> read = ReadBatchHistory(dir, limit);
    ASSERT_TRUE(cached.has_value()) << cached.error().ToString();
    ASSERT_TRUE(read.has_value());
    EXPECT_EQ(Describe(cached->records, cached->warning), Describe(*read)) << "limit " << limit;
  }
}

std::string NewestHistoryFile(const std::string& checkpoint_dir) {
  Result<std::vector<std::string>> names = ListDir(history::HistoryDir(checkpoint_dir));
  EXPECT_TRUE(names.has_value() && !names->empty());
  std::sort(names->begin(), names->end());
  return JoinPath(history::HistoryDir(checkpoint_dir), names->back());
}

TEST(HistoryCacheTest, AnswersAsTheReaderThroughAppendsRollsAndLimits) {
  testing::TempDir dir("history_cache");
  HistoryCache cache;
  ExpectSameAsReader(cache, dir.path());  // no history yet
  auto w = OpenCacheTestWriter(dir.path(), 4);
  for (int64_t i = 0; i < 23; ++i) {
    if (i % 5 == 2) w->Append(CacheTestRecord(i, "failed"));
    w->Append(CacheTestRecord(i));
    ExpectSameAsReader(cache, dir.path());
  }
  // A later run with another bound starts a new generation that carries it.
  w.reset();
  w = OpenCacheTestWriter(dir.path(), 2);
  w->Append(CacheTestRecord(23));
  ExpectSameAsReader(cache, dir.path());
  Result<CachedHistory> h = cache.Read(dir.path());
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(h->records.size(), 2u);
  EXPECT_EQ(h->records[0].batch_id, 22);
  EXPECT_EQ(h->records.back().batch_id, 23);
}

TEST(HistoryCacheTest, AReadAfterOneAppendReadsAboutOneEntryNotTheFile) {
  testing::TempDir dir("history_cache");
  auto w = OpenCacheTestWriter(dir.path(), 10000);
  for (int64_t i = 0; i < 500; ++i) w->Append(CacheTestRecord(i));
  HistoryCache cache;
  ASSERT_TRUE(cache.Read(dir.path()).has_value());
  Result<std::string> whole = ReadFileToString(NewestHistoryFile(dir.path()));
  ASSERT_TRUE(whole.has_value());
  const uint64_t file_size = whole->size();
  EXPECT_EQ(cache.bytes_read(), file_size);
  const uint64_t entry = file_size / 500;  // about one entry (the header is shorter)
  // Nothing new: one entry is read (the last one, to see that the file is still the same).
  uint64_t before = cache.bytes_read();
  ASSERT_TRUE(cache.Read(dir.path()).has_value());
  EXPECT_LE(cache.bytes_read() - before, entry + 8);
  // One record appended: it and the last one.
  w->Append(CacheTestRecord(500));
  before = cache.bytes_read();
  Result<CachedHistory> h = cache.Read(dir.path());
  ASSERT_TRUE(h.has_value());
  EXPECT_LE(cache.bytes_read() - before, 2 * entry + 16);
  ASSERT_EQ(h->records.size(), 501u);
  EXPECT_EQ(h->records.back().batch_id, 500);
  ExpectSameAsReader(cache, dir.path());
}

TEST(HistoryCacheTest, ATruncatedOrRewrittenFileIsParsedAgain) {
  testing::TempDir dir("history_cache");
  HistoryCache cache;
  {
    auto w = OpenCacheTestWriter(dir.path(), 100);
    for (int64_t i = 0; i < 10; ++i) w->Append(CacheTestRecord(i));
  }
  ExpectSameAsReader(cache, dir.path());
  const std::string file = NewestHistoryFile(dir.path());
  Result<std::string> bytes = ReadFileToString(file);
  ASSERT_TRUE(bytes.has_value());
  // Truncated in the middle of an entry: shorter than what the cache parsed.
  {
    Result<File> f = File::Open(file, File::Mode::kReadWrite);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->Truncate(bytes->size() / 2).ok());
  }
  ExpectSameAsReader(cache, dir.path());
  // The writer cuts the torn tail and appends: as long as before, other records at the end.
  {
    auto w = OpenCacheTestWriter(dir.path(), 100);
    for (int64_t i = 100; i < 110; ++i) w->Append(CacheTestRecord(i));
  }
  ExpectSameAsReader(cache, dir.path());
  // A reset pipeline run again: the directory removed, the same file names written anew, and
  // the file as long as the old one was.
  ASSERT_TRUE(RemoveAll(history::HistoryDir(dir.path())).ok());
  ExpectSameAsReader(cache, dir.path());
  {
    auto w = OpenCacheTestWriter(dir.path(), 100);
    for (int64_t i = 0; i < 14; ++i) w->Append(CacheTestRecord(i * 7));
  }
  ExpectSameAsReader(cache, dir.path());
  // The same bytes but one entry changed in place, same size, same inode: the last entry read
  // differs, so the file is parsed again (and its damage named, as the reader names it).
  bytes = ReadFileToString(file);
  ASSERT_TRUE(bytes.has_value());
  const std::string needle = "\"batch_id\":91";
  const size_t at = bytes->rfind(needle);
  ASSERT_NE(at, std::string::npos);
  {
    Result<File> f = File::Open(file, File::Mode::kReadWrite);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(at + needle.size() - 1, "7").ok());
  }
  ExpectSameAsReader(cache, dir.path());
}

TEST(HistoryCacheTest, DamageAndABadRecordAreNamedAsTheReaderNamesThem) {
  testing::TempDir dir("history_cache");
  HistoryCache cache;
  auto w = OpenCacheTestWriter(dir.path(), 100);
  for (int64_t i = 0; i < 6; ++i) w->Append(CacheTestRecord(i));
  ExpectSameAsReader(cache, dir.path());
  w.reset();
  // Appended after what the cache read: a record whose JSON does not parse (named, skipped), an
  // entry whose checksum does not match and a whole entry after it (damage: the rest skipped).
  const std::string file = NewestHistoryFile(dir.path());
  Result<std::string> bytes = ReadFileToString(file);
  ASSERT_TRUE(bytes.has_value());
  std::string damaged = history::EncodeHistoryEntry(history::MakeBatchKey(6, "committed"),
                                                    BatchRecordToJson(CacheTestRecord(6)), 0, 8);
  damaged[damaged.size() - 3] ^= 1;
  const std::string appended =
      history::EncodeHistoryEntry(history::MakeBatchKey(6, "committed"), "{not json", 0, 7) +
      damaged +
      history::EncodeHistoryEntry(history::MakeBatchKey(7, "committed"),
                                  BatchRecordToJson(CacheTestRecord(7)), 0, 9);
  {
    Result<File> f = File::Open(file, File::Mode::kReadWrite);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(bytes->size(), appended).ok());
  }
  ExpectSameAsReader(cache, dir.path());
  Result<CachedHistory> h = cache.Read(dir.path());
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->records.size(), 6u);
  EXPECT_NE(h->warning.find("history file " + file + " is damaged at offset"), std::string::npos)
      << h->warning;
  EXPECT_NE(h->warning.find("history file " + file + " has a bad record at offset " +
                            std::to_string(bytes->size())),
            std::string::npos)
      << h->warning;
  // Two commits of one batch: the older reads as superseded, here as in the reader.
  w = OpenCacheTestWriter(dir.path(), 100);  // starts a new generation after the damage
  w->Append(CacheTestRecord(6));
  w->Append(CacheTestRecord(6));
  w->Append(CacheTestRecord(7));
  ExpectSameAsReader(cache, dir.path());
  h = cache.Read(dir.path());
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(h->records.size(), 9u);
  EXPECT_EQ(h->records[6].outcome, "superseded");
  EXPECT_EQ(h->records[7].outcome, "committed");
  // Damage in the middle of an older generation, read by a new cache: named as the reader
  // names it (the records after it skipped).
  (*bytes)[bytes->find("\"batch_id\":3") + 11] = '8';
  {
    Result<File> f = File::Open(file, File::Mode::kReadWrite);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(0, *bytes).ok());
  }
  HistoryCache fresh;
  ExpectSameAsReader(fresh, dir.path());
  h = fresh.Read(dir.path());
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->records.size(), 6u);  // 0, 1, 2 of the damaged file; 6, 6, 7 of the new one
}

TEST(HistoryCacheTest, ConcurrentReadersWhileAWriterAppendsSeeContiguousPrefixes) {
  testing::TempDir dir("history_cache");
  auto w = OpenCacheTestWriter(dir.path(), 64);
  HistoryCache cache;
  constexpr int64_t kRecords = 2000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int64_t i = 0; i < kRecords; ++i) w->Append(CacheTestRecord(i));
    done = true;
  });
  std::vector<std::thread> readers;
  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<std::string> why;  // the first failures, said
  auto fail = [&](std::string what) {
    ++failures;
    std::lock_guard lock(mu);
    if (why.size() < 5) why.push_back(std::move(what));
  };
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      int reads = 0;
      int64_t last_seen = -1;
      while (!done || reads < 3) {
        Result<CachedHistory> h = cache.Read(dir.path(), t == 0 ? 10 : -1);
        ++reads;
        if (!h.has_value() || !h->warning.empty() || h->records.size() > 64) {
          fail(!h.has_value() ? h.error().ToString()
                              : h->warning + " / " + std::to_string(h->records.size()));
          continue;
        }
        // The newest records, in order, each once; never older than what this thread saw.
        for (size_t i = 1; i < h->records.size(); ++i) {
          if (h->records[i].batch_id != h->records[i - 1].batch_id + 1) {
            fail("batch " + std::to_string(h->records[i].batch_id) + " after " +
                 std::to_string(h->records[i - 1].batch_id));
          }
        }
        if (!h->records.empty()) {
          if (h->records.back().batch_id < last_seen) {
            fail("newest " + std::to_string(h->records.back().batch_id) + " after " +
                 std::to_string(last_seen));
          }
          last_seen = h->records.back().batch_id;
        }
      }
    });
  }
  writer.join();
  for (std::thread& r : readers) r.join();
  EXPECT_EQ(failures.load(), 0) << ::testing::PrintToString(why);
  ExpectSameAsReader(cache, dir.path());
  Result<CachedHistory> h = cache.Read(dir.path());
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(h->records.size(), 64u);
  EXPECT_EQ(h->records.back().batch_id, kRecords - 1);
}

}  // namespace
}  // namespace onceflow::ui
