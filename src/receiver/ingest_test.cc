// Ingestor: acknowledgements with offsets, de-duplication across restarts, the request checks,
// backpressure, and concurrent producers (run under TSan by scripts/test.sh).
#include "receiver/ingest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "receiver/receiver_test_util.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow::receiver {
namespace {

using testing::OpenIngestor;
using testing::ReadAll;
using testing::Request;
using testing::TempDir;

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::CreateTopic(dir_.path(), "t", 2); }
  void TearDown() override { faults::DisarmAll(); }
  TempDir dir_;
};

TEST_F(IngestTest, AcknowledgesWithTheAssignedOffsets) {
  auto ingestor = OpenIngestor(dir_.path());
  std::vector<std::string> v = {"a", "b", "c"};
  IngestResponse r = ingestor->Ingest(Request("t", v, "p", 0));
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.count, 3u);
  EXPECT_FALSE(r.duplicate);
  std::vector<std::string> w = {"d"};
  IngestResponse r2 = ingestor->Ingest(Request("t", w, "p", 3));
  ASSERT_EQ(r2.status, 200);
  EXPECT_EQ(r2.partition, r.partition);  // a producer sticks to its partition
  EXPECT_EQ(r2.base_offset, r.base_offset + 3);
  ingestor.reset();
  EXPECT_EQ(ReadAll(dir_.path(), "t"), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(IngestTest, RepeatIsAnsweredWithOriginalOffsetsAcrossRestarts) {
  std::vector<std::string> v = {"a", "b"};
  IngestResponse first;
  {
    auto ingestor = OpenIngestor(dir_.path());
    first = ingestor->Ingest(Request("t", v, "p", 0));
    ASSERT_EQ(first.status, 200);
    IngestResponse again = ingestor->Ingest(Request("t", v, "p", 0));
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.base_offset, first.base_offset);
  }
  // Without a snapshot (as after a crash): the table is rebuilt from the log's headers.
  ASSERT_TRUE(RemoveAll(JoinPath(dir_.path(), "receiver")).ok());
  {
    auto ingestor = OpenIngestor(dir_.path());
    IngestResponse again = ingestor->Ingest(Request("t", v, "p", 0));
    ASSERT_EQ(again.status, 200);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.partition, first.partition);
    EXPECT_EQ(again.base_offset, first.base_offset);
  }
  EXPECT_EQ(ReadAll(dir_.path(), "t").size(), 2u);
}

TEST_F(IngestTest, RefusesBadRequestsWithClearErrors) {
  auto ingestor = OpenIngestor(dir_.path());
  std::vector<std::string> v = {"a"};
  auto check = [&](const IngestRequest& req, int status, const std::string& needle) {
    IngestResponse r = ingestor->Ingest(req);
    EXPECT_EQ(r.status, status) << r.error;
    EXPECT_NE(r.error.find(needle), std::string::npos) << r.error;
  };
  check(Request("nope", v), 404, "unknown topic 'nope'");
  check(Request("../x", v), 400, "topic");
  check(Request("t", {}), 400, "no records");
  check(Request("t", v, "p"), 400, "requires a sequence");
  check(Request("t", v, "", 3), 400, "requires a producer id");
  check(Request("t", v, "bad id", 0), 400, "producer id");
  check(Request("t", v, "p", 4), 409, "must have sequence 0");
  IngestRequest part = Request("t", v);
  part.partition = 7;
  check(part, 400, "partition 7 out of range");
  ASSERT_EQ(ingestor->Ingest(Request("t", v, "p", 0)).status, 200);
  check(Request("t", v, "p", 5), 409, "expected sequence 1, got 5");
  EXPECT_EQ(ingestor->metrics().rejected(RejectReason::kSequence), 2u);
  EXPECT_EQ(ReadAll(dir_.path(), "t"), std::vector<std::string>{"a"});
}

TEST_F(IngestTest, RequestLimits) {
  IngestOptions o;
  o.max_request_bytes = 10;
  o.max_request_records = 3;
  auto ingestor = OpenIngestor(dir_.path(), o);
  std::vector<std::string> many = {"a", "b", "c", "d"};
  std::vector<std::string> big = {"0123456789a"};
  EXPECT_EQ(ingestor->Ingest(Request("t", many)).status, 413);
  EXPECT_EQ(ingestor->Ingest(Request("t", big)).status, 413);
  EXPECT_EQ(ingestor->metrics().rejected(RejectReason::kTooLarge), 2u);
}

// A request beyond the in-flight budget gets 503 with Retry-After instead of waiting.
TEST_F(IngestTest, OverTheInFlightLimitIs503) {
  IngestOptions o;
  o.max_in_flight_bytes = 4;
  o.max_request_bytes = 4;
  auto ingestor = OpenIngestor(dir_.path(), o);
  // The first request stays in flight (stalled between its fsync and its ack) for 2 s.
  ASSERT_TRUE(faults::Arm("receiver_before_ack=slow:2s#1").ok());
  std::vector<std::string> v = {"abc"};
  std::thread slow([&] { EXPECT_EQ(ingestor->Ingest(Request("t", v)).status, 200); });
  while (ingestor->metrics().RenderPrometheus().find("onceflow_receiver_in_flight_bytes 3") ==
         std::string::npos) {
    std::this_thread::yield();
  }
  IngestResponse busy = ingestor->Ingest(Request("t", v));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.retry_after_s, 1);
  slow.join();
  EXPECT_EQ(ingestor->Ingest(Request("t", v)).status, 200);  // admitted again once drained
}

// A full disk: the request is refused with 507 (Retry-After) naming the partition's file, nothing
// of it is stored, and the same request is taken once space is freed — exactly once.
TEST_F(IngestTest, AFullDiskIs507AndThePartitionTakesTheRetryOnceSpaceIsFreed) {
  auto ingestor = OpenIngestor(dir_.path());
  std::vector<std::string> a = {"a"}, b = {"b", "c"};
  ASSERT_EQ(ingestor->Ingest(Request("t", a, "p", 0)).status, 200);
  ASSERT_TRUE(faults::Arm("file_write=enospc#1-2").ok());
  for (int i = 0; i < 2; ++i) {
    IngestResponse full = ingestor->Ingest(Request("t", b, "p", 1));
    EXPECT_EQ(full.status, 507);
    EXPECT_EQ(full.retry_after_s, 1);
    EXPECT_NE(full.error.find("disk full: " + dir_.path()), std::string::npos) << full.error;
  }
  EXPECT_EQ(ingestor->metrics().rejected(RejectReason::kDiskFull), 2u);
  IngestResponse taken = ingestor->Ingest(Request("t", b, "p", 1));
  ASSERT_EQ(taken.status, 200) << taken.error;
  EXPECT_FALSE(taken.duplicate);
  EXPECT_EQ(taken.base_offset, Offset(1));  // right after "a": nothing of the refusals is there
  ingestor.reset();
  EXPECT_EQ(ReadAll(dir_.path(), "t"), (std::vector<std::string>{"a", "b", "c"}));
}

// A retry racing its own original (the client gave up waiting and resent) is answered as a
// duplicate once the original is durable: one copy, the same offsets for both.
TEST_F(IngestTest, ConcurrentRepeatsOfOneRequestStoreItOnce) {
  auto ingestor = OpenIngestor(dir_.path());
  std::vector<std::string> v = {"x", "y"};
  constexpr int kThreads = 6;
  std::vector<IngestResponse> r(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { r[i] = ingestor->Ingest(Request("t", v, "p", 0)); });
  }
  for (auto& t : threads) t.join();
  int stored = 0;
  for (const IngestResponse& x : r) {
    ASSERT_EQ(x.status, 200) << x.error;
    EXPECT_EQ(x.base_offset, r[0].base_offset);
    stored += x.duplicate ? 0 : 1;
  }
  EXPECT_EQ(stored, 1);
  EXPECT_EQ(ReadAll(dir_.path(), "t").size(), 2u);
}

// Many producers at once, each retrying every request once: every record exactly once, and
// group commit shares fsyncs between them.
TEST_F(IngestTest, ConcurrentProducersWithRetriesStoreEachRecordOnce) {
  auto ingestor = OpenIngestor(dir_.path());
  constexpr int kProducers = 8, kRequests = 40, kPerRequest = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      const std::string id = "producer-" + std::to_string(p);
      for (int q = 0; q < kRequests; ++q) {
        std::vector<std::string> v;
        for (int k = 0; k < kPerRequest; ++k) {
          v.push_back(id + "/" + std::to_string(q * kPerRequest + k));
        }
        IngestResponse a = ingestor->Ingest(Request("t", v, id, q * kPerRequest));
        IngestResponse b = ingestor->Ingest(Request("t", v, id, q * kPerRequest));
        if (a.status != 200 || b.status != 200 || a.duplicate || !b.duplicate ||
            a.base_offset != b.base_offset) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<std::string> all = ReadAll(dir_.path(), "t");
  ASSERT_EQ(all.size(), static_cast<size_t>(kProducers * kRequests * kPerRequest));
  std::set<std::string> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), all.size());
}

// A snapshot taken while appends are in flight covers only what the table holds; a restart
// from it still recognises every stored request.
TEST_F(IngestTest, SnapshotsUnderLoadStayConsistent) {
  TempDir copy_;
  IngestOptions o;
  o.snapshot_interval_ms = 1;
  std::vector<std::pair<std::string, int64_t>> last;  // producer, its last request's sequence
  std::vector<std::vector<std::string>> last_values;
  {
    auto ingestor = OpenIngestor(dir_.path(), o);
    std::vector<std::thread> threads;
    std::mutex mu;
    for (int p = 0; p < 4; ++p) {
      threads.emplace_back([&, p] {
        const std::string id = "s" + std::to_string(p);
        int64_t seq = 0;
        std::vector<std::string> v;
        for (int q = 0; q < 30; ++q) {
          v = {id + "-" + std::to_string(q)};
          ASSERT_EQ(ingestor->Ingest(Request("t", v, id, seq)).status, 200);
          ++seq;
        }
        std::lock_guard lock(mu);
        last.emplace_back(id, seq - 1);
        last_values.push_back(v);
      });
    }
    for (auto& t : threads) t.join();
    // The crash image: the files as they are while the ingestor still runs (no Close, so only
    // the periodic snapshots exist).
    ASSERT_EQ(std::system(("cp -r " + dir_.path() + "/. " + copy_.path()).c_str()), 0);
  }
  auto restarted = OpenIngestor(copy_.path());
  ASSERT_NE(restarted, nullptr);
  for (size_t i = 0; i < last.size(); ++i) {
    IngestResponse r =
        restarted->Ingest(Request("t", last_values[i], last[i].first, last[i].second));
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_TRUE(r.duplicate) << last[i].first;
  }
}

}  // namespace
}  // namespace onceflow::receiver
