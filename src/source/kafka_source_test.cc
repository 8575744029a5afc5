// KafkaSource against the real broker: exact ranges across transaction markers and aborted
// transactions, the last stable offset as the end, errors for unreadable ranges.
#include "source/kafka_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <thread>

#include "testing/hang_guard.h"
#include "testing/kafka.h"

namespace onceflow::source {
namespace {

using ::onceflow::testing::CreateTestTopic;
using ::onceflow::testing::TestProducer;
using ::onceflow::testing::UniqueTopic;

// (offset, value) of each record of the range.
using Read = std::vector<std::pair<int64_t, std::string>>;

Result<Read> ReadRange(KafkaSource* source, int32_t p, int64_t from, int64_t until) {
  Read out;
  Status s =
      source->Read(PartitionId(p), Offset(from), Offset(until), [&](Offset o, const RecordView& r) {
        out.emplace_back(o.value(), std::string(r.value));
        return Status::Ok();
      });
  if (!s.ok()) return Err(s);
  return out;
}

Result<std::unique_ptr<KafkaSource>> OpenSource(
    const std::string& bootstrap, const std::string& topic,
    std::chrono::milliseconds read_timeout = std::chrono::milliseconds(30000)) {
  KafkaSourceOptions o;
  o.bootstrap = bootstrap;
  o.topic = topic;
  o.group = "onceflow-source-test";
  o.read_timeout = read_timeout;
  return KafkaSource::Open(std::move(o));
}

// Offsets 0-4 committed (marker 5), 6-8 aborted (marker 9), 10-12 committed (marker 13),
// 14 plain: end offset 15, with nine records visible to read_committed.
Status WriteMixedPartition(const std::string& bootstrap, const std::string& topic) {
  ONCEFLOW_ASSIGN_OR_RETURN(TestProducer txn, TestProducer::Make(bootstrap, topic + "-txn"));
  ONCEFLOW_RETURN_IF_ERROR(txn.Begin());
  for (int i = 0; i < 5; ++i) ONCEFLOW_RETURN_IF_ERROR(txn.Send(topic, 0, "a" + std::to_string(i)));
  ONCEFLOW_RETURN_IF_ERROR(txn.Commit());
  ONCEFLOW_RETURN_IF_ERROR(txn.Begin());
  for (int i = 0; i < 3; ++i) ONCEFLOW_RETURN_IF_ERROR(txn.Send(topic, 0, "b" + std::to_string(i)));
  ONCEFLOW_RETURN_IF_ERROR(txn.Flush());
  ONCEFLOW_RETURN_IF_ERROR(txn.Abort());
  ONCEFLOW_RETURN_IF_ERROR(txn.Begin());
  for (int i = 0; i < 3; ++i) ONCEFLOW_RETURN_IF_ERROR(txn.Send(topic, 0, "c" + std::to_string(i)));
  ONCEFLOW_RETURN_IF_ERROR(txn.Commit());
  ONCEFLOW_ASSIGN_OR_RETURN(TestProducer plain, TestProducer::Make(bootstrap));
  ONCEFLOW_RETURN_IF_ERROR(plain.Send(topic, 0, "d0"));
  return plain.Flush();
}

TEST(KafkaSourceTest, IdentityIsTheTopicAndTheClusterId) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("src-identity");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  auto source = OpenSource(bootstrap, topic);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  auto identity = (*source)->Identity();
  ASSERT_TRUE(identity.has_value()) << identity.error().ToString();
  EXPECT_EQ(identity->type, "kafka");
  EXPECT_EQ(identity->topic, topic);
  EXPECT_FALSE(identity->id.empty());  // the cluster id
  // The same cluster gives the same identity to another source of the topic.
  auto again = OpenSource(bootstrap, topic);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*again)->Identity().value(), *identity);
}

TEST(KafkaSourceTest, ReadsExactRangesAcrossAbortedTransactionsAndMarkers) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("src-mixed");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  ASSERT_TRUE(WriteMixedPartition(bootstrap, topic).ok());
  auto source = OpenSource(bootstrap, topic);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  auto earliest = (*source)->EarliestOffsets();
  auto end = (*source)->EndOffsets();
  ASSERT_TRUE(earliest.has_value() && end.has_value());
  EXPECT_EQ(*earliest, std::vector<Offset>{Offset(0)});
  EXPECT_EQ(*end, std::vector<Offset>{Offset(15)});

  const Read all = {{0, "a0"},  {1, "a1"},  {2, "a2"},  {3, "a3"}, {4, "a4"},
                    {10, "c0"}, {11, "c1"}, {12, "c2"}, {14, "d0"}};
  auto whole = ReadRange(source->get(), 0, 0, 15);
  ASSERT_TRUE(whole.has_value()) << whole.error().ToString();
  EXPECT_EQ(*whole, all);

  // Every split of [0, 15) into two ranges reads, together, exactly the whole: no record lost
  // or read twice at a boundary, whatever the boundary falls on (marker, aborted record).
  for (int64_t cut = 0; cut <= 15; ++cut) {
    auto left = ReadRange(source->get(), 0, 0, cut);
    auto right = ReadRange(source->get(), 0, cut, 15);
    ASSERT_TRUE(left.has_value() && right.has_value()) << "cut " << cut;
    Read joined = *left;
    joined.insert(joined.end(), right->begin(), right->end());
    EXPECT_EQ(joined, all) << "cut at " << cut;
    for (const auto& [o, v] : *left) EXPECT_LT(o, cut);
    for (const auto& [o, v] : *right) EXPECT_GE(o, cut);
  }
  // A range of nothing but a marker and an aborted transaction completes, empty.
  auto hole = ReadRange(source->get(), 0, 5, 10);
  ASSERT_TRUE(hole.has_value()) << hole.error().ToString();
  EXPECT_TRUE(hole->empty());
}

TEST(KafkaSourceTest, ConcurrentReadsEachReadTheirExactRange) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("src-concurrent");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 4).ok());
  auto producer = TestProducer::Make(bootstrap);
  ASSERT_TRUE(producer.has_value());
  for (int p = 0; p < 4; ++p) {
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(producer->Send(topic, p, std::to_string(p * 1000 + i)).ok());
    }
  }
  ASSERT_TRUE(producer->Flush().ok());
  auto source = OpenSource(bootstrap, topic);
  ASSERT_TRUE(source.has_value());
  // 4 threads x 3 rounds x 4 partitions x ranges of 50: each range its exact values.
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (int p = 0; p < 4; ++p) {
          const int64_t from = ((t + round + p) % 4) * 50;
          auto r = ReadRange(source->get(), p, from, from + 50);
          if (!r.has_value() || r->size() != 50) {
            bad.fetch_add(1);
            continue;
          }
          for (size_t i = 0; i < r->size(); ++i) {
            const int64_t o = from + static_cast<int64_t>(i);
            if ((*r)[i] != std::make_pair(o, std::to_string(p * 1000 + o))) bad.fetch_add(1);
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  // A partition read by several threads at once has a stream per reader (kafka_stream_test.cc).
  const KafkaSource::ReadCounts counts = (*source)->read_counts();
  EXPECT_EQ(counts.continued + counts.seeked, 48u);
}

TEST(KafkaSourceTest, EndStopsAtAnOpenTransaction) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("src-open");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  auto plain = TestProducer::Make(bootstrap);
  ASSERT_TRUE(plain.has_value());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(plain->Send(topic, 0, "p" + std::to_string(i)).ok());
  ASSERT_TRUE(plain->Flush().ok());
  auto txn = TestProducer::Make(bootstrap, topic + "-txn");
  ASSERT_TRUE(txn.has_value());
  ASSERT_TRUE(txn->Begin().ok());
  ASSERT_TRUE(txn->Send(topic, 0, "open").ok());
  ASSERT_TRUE(txn->Flush().ok());
  auto source = OpenSource(bootstrap, topic);
  ASSERT_TRUE(source.has_value());
  auto end = (*source)->EndOffsets();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(*end, std::vector<Offset>{Offset(3)});  // the open transaction starts at 3
  ASSERT_TRUE(txn->Commit().ok());
  // commit_transaction returns before the broker writes the commit marker: the end moves to 5
  // (record 3 and its marker at 4) a moment later, and to nothing else.
  const auto deadline = std::chrono::steady_clock::now() + ::onceflow::testing::kHangGuard;
  while (std::chrono::steady_clock::now() < deadline) {
    end = (*source)->EndOffsets();
    ASSERT_TRUE(end.has_value());
    if (*end != std::vector<Offset>{Offset(3)}) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(*end, std::vector<Offset>{Offset(5)});
  auto r = ReadRange(source->get(), 0, 2, 5);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (Read{{2, "p2"}, {3, "open"}}));
}

TEST(KafkaSourceTest, ARangePastTheEndIsAnError) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("src-short");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  auto plain = TestProducer::Make(bootstrap);
  ASSERT_TRUE(plain.has_value());
  ASSERT_TRUE(plain->Send(topic, 0, "only").ok());
  ASSERT_TRUE(plain->Flush().ok());
  auto source = OpenSource(bootstrap, topic, std::chrono::milliseconds(1500));
  ASSERT_TRUE(source.has_value());
  int seen = 0;
  Status s = (*source)->Read(PartitionId(0), Offset(0), Offset(3), [&](Offset, const RecordView&) {
    ++seen;
    return Status::Ok();
  });
  EXPECT_TRUE(s.IsOutOfRange()) << s.ToString();
  EXPECT_NE(s.message().find("[0, 3)"), std::string::npos) << s.ToString();
  EXPECT_EQ(seen, 1);
}

TEST(KafkaSourceTest, MissingTopicIsNotFound) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  auto source = OpenSource(bootstrap, UniqueTopic("src-missing"));
  ASSERT_FALSE(source.has_value());
  EXPECT_TRUE(source.error().IsNotFound()) << source.error().ToString();
}

TEST(KafkaSourceTest, NewPartitionsArePickedUpAndWaitWakesOnData) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("src-grow");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  auto source = OpenSource(bootstrap, topic);
  ASSERT_TRUE(source.has_value());
  auto admin = kafka::MakeClient(kafka::ClientKind::kProducer, bootstrap, {});
  ASSERT_TRUE(admin.has_value());
  ASSERT_TRUE(
      kafka::AddPartitions(admin->get(), topic, 3, ::onceflow::testing::kKafkaTimeout).ok());
  auto end = (*source)->EndOffsets();
  ASSERT_TRUE(end.has_value()) << end.error().ToString();
  EXPECT_EQ(end->size(), 3u);
  // WaitForData wakes for a record in the new partition.
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto p = TestProducer::Make(bootstrap);
    if (p.has_value() && p->Send(topic, 2, "late").ok()) p->Flush().IgnoreError();
  });
  (*source)->WaitForData({Offset(0), Offset(0), Offset(0)}, ::onceflow::testing::kHangGuard);
  writer.join();
  end = (*source)->EndOffsets();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(*end, (std::vector<Offset>{Offset(0), Offset(0), Offset(1)}));
}

}  // namespace
}  // namespace onceflow::source

namespace onceflow::source {
namespace {

// Polls `sources` until `done` holds for their ownerships (or kHangGuard passes).
bool PollUntil(const std::vector<KafkaSource*>& sources,
               const std::function<bool(const std::vector<Source::Ownership>&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + ::onceflow::testing::kHangGuard;
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<Source::Ownership> owned;
    for (KafkaSource* s : sources) owned.push_back(*s->Owned());
    if (done(owned)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(KafkaSourceTest, GroupMembersSplitThePartitionsAndTheSurvivorTakesThemAllWithANewerEpoch) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = ::onceflow::testing::UniqueTopic("src-group");
  ASSERT_TRUE(::onceflow::testing::CreateTestTopic(bootstrap, topic, 4).ok());
  auto open = [&] {
    KafkaSourceOptions o;
    o.bootstrap = bootstrap;
    o.topic = topic;
    o.group = topic;
    o.assign = KafkaAssignment::kGroup;
    o.session_timeout = std::chrono::milliseconds(6000);
    return KafkaSource::Open(std::move(o));
  };
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a.has_value() && b.has_value());
  const std::vector<PartitionId> all = {PartitionId(0), PartitionId(1), PartitionId(2),
                                        PartitionId(3)};
  Epoch split(-1);
  ASSERT_TRUE(PollUntil({a->get(), b->get()}, [&](const std::vector<Source::Ownership>& o) {
    if (o[0].epoch.value() < 0 || o[0].epoch != o[1].epoch) return false;
    if (o[0].partitions.size() != 2 || o[1].partitions.size() != 2) return false;
    std::vector<PartitionId> both = o[0].partitions;
    both.insert(both.end(), o[1].partitions.begin(), o[1].partitions.end());
    std::sort(both.begin(), both.end());
    split = o[0].epoch;
    return both == all;  // disjoint, and every partition owned
  }));
  // A member that leaves (a clean stop) hands its partitions over at once, under a newer
  // generation: the epoch that fences whatever the leaver might still commit.
  a->reset();
  ASSERT_TRUE(PollUntil(
      {b->get()}, [&](const std::vector<Source::Ownership>& o) { return o[0].partitions == all; }));
  EXPECT_GT((*b)->Owned()->epoch, split);
  // A source that is not shared owns everything, always.
  auto direct = OpenSource(bootstrap, topic);
  ASSERT_TRUE(direct.has_value());
  EXPECT_FALSE((*direct)->Owned().has_value());
}

}  // namespace
}  // namespace onceflow::source
