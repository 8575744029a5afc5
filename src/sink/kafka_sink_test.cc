// KafkaSink against the real broker: output and marker in one transaction, replays skipped,
// gaps refused, and a zombie producer fenced with nothing of it visible.
#include "sink/kafka_sink.h"

#include <gtest/gtest.h>

#include <deque>
#include <future>
#include <map>
#include <thread>

#include "testing/kafka.h"
#include "util/fault_points.h"

namespace onceflow::sink {
namespace {

using ::onceflow::testing::CreateTestTopic;
using ::onceflow::testing::ReadCommitted;
using ::onceflow::testing::UniqueTopic;

class KafkaSinkTest : public ::testing::Test {
 protected:
  // The pipeline name is part of each task's transactional.id: tests that ctest runs side by
  // side must not share one, or they fence each other's producers.
  const std::string pipeline_ = UniqueTopic("p");

  void TearDown() override { faults::DisarmAll(); }

  // A sink on a fresh output topic with its own progress topic, opened.
  std::unique_ptr<Sink> OpenSink(const std::string& bootstrap, const std::string& topic,
                                 const std::string& key_field = "id") {
    KafkaSinkOptions o;
    o.bootstrap = bootstrap;
    o.topic = topic;
    o.key_field = key_field;
    o.progress_topic = topic + "-progress";
    o.dead_letter_topic = topic + "-dead";
    o.transaction_timeout = std::chrono::milliseconds(10000);
    auto sink = MakeKafkaSink(std::move(o));
    EXPECT_TRUE(sink.has_value());
    if (!sink.has_value()) return nullptr;
    Status s = (*sink)->Open();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(sink).value();
  }

  // Rows {"id": first}, {"id": first+1}, ... kept alive by the fixture.
  std::span<const SinkRow> Rows(int64_t first, int n, const std::string& tag = "") {
    auto& rows = storage_.emplace_back();
    for (int i = 0; i < n; ++i) {
      Row r{{"id", first + i}};
      if (!tag.empty()) r.Set("tag", tag);
      rows.push_back({r, PartitionId(0), Offset(first + i)});
    }
    return rows;
  }

  TaskCommit Commit(int64_t batch, int64_t epoch, int64_t from, int64_t until,
                    std::span<const SinkRow> rows) {
    TaskCommit t;
    t.pipeline = pipeline_;
    t.task = 0;
    t.batch = BatchId(batch);
    t.epoch = Epoch(epoch);
    t.ranges = {{PartitionId(0), Offset(from), Offset(until)}};
    t.rows = rows;
    return t;
  }

  // The values a read_committed consumer sees in `topic`.
  std::vector<std::string> Visible(const std::string& bootstrap, const std::string& topic) {
    auto records = ReadCommitted(bootstrap, topic);
    EXPECT_TRUE(records.has_value()) << records.error().ToString();
    std::vector<std::string> out;
    if (records.has_value()) {
      for (const auto& r : *records) out.push_back(r.key + " " + r.value);
    }
    return out;
  }

  static Result<CommitOutcome> CommitOne(Sink* sink, const TaskCommit& t) {
    ONCEFLOW_ASSIGN_OR_RETURN(auto outcomes, sink->Commit(std::span<const TaskCommit>(&t, 1)));
    return outcomes.at(0);
  }

  std::deque<std::vector<SinkRow>> storage_;
};

TEST_F(KafkaSinkTest, RecordsWithoutAKeyGoToTheTasksOwnPartitionInOrder) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("sink-own-partition");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 3).ok());
  // The rows have no field "k": no key, as with no key_field at all.
  auto sink = OpenSink(bootstrap, topic, "k");
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->ReadProgress(pipeline_).has_value());
  std::vector<TaskCommit> tasks;
  for (int32_t task : {1, 2, 4}) {
    TaskCommit t = Commit(0, 1, 0, 50, Rows(task * 100, 50));
    t.task = task;
    t.ranges = {{PartitionId(task), Offset(0), Offset(50)}};
    tasks.push_back(t);
  }
  auto outcomes = sink->Commit(tasks);
  ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
  auto records = ReadCommitted(bootstrap, topic);
  ASSERT_TRUE(records.has_value()) << records.error().ToString();
  ASSERT_EQ(records->size(), 150u);
  // Task t's records: all in partition t mod 3, in the task's order; tasks 1 and 4 share one.
  std::map<int32_t, std::vector<std::string>> by_partition;
  for (const auto& r : *records) {
    EXPECT_EQ(r.key, "");
    by_partition[r.partition].push_back(r.value);
  }
  auto values = [](std::initializer_list<int> firsts) {
    std::vector<std::string> out;
    for (int first : firsts) {
      for (int i = 0; i < 50; ++i) out.push_back("{\"id\":" + std::to_string(first + i) + "}");
    }
    return out;
  };
  EXPECT_EQ(by_partition[2], values({200}));
  // Partition 1 holds task 1's and task 4's records (their transactions ran side by side, so
  // they may interleave), each task's in its order.
  std::vector<std::string> task1, task4;
  for (const std::string& v : by_partition[1]) (v < "{\"id\":400}" ? task1 : task4).push_back(v);
  EXPECT_EQ(task1, values({100}));
  EXPECT_EQ(task4, values({400}));
  EXPECT_EQ(by_partition.count(0), 0u);
}

TEST_F(KafkaSinkTest, OutputAndMarkerCommitTogetherAndReplaysAreSkipped) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("sink-basic");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  auto sink = OpenSink(bootstrap, topic);
  ASSERT_NE(sink, nullptr);
  auto progress = sink->ReadProgress(pipeline_);
  ASSERT_TRUE(progress.has_value()) << progress.error().ToString();
  EXPECT_TRUE(progress->empty());

  auto o = CommitOne(sink.get(), Commit(0, 1, 0, 2, Rows(0, 2)));
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  EXPECT_EQ(*o, CommitOutcome::kCommitted);
  o = CommitOne(sink.get(), Commit(1, 1, 2, 3, Rows(2, 1)));
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  // A replay of batch 1 (a retry, a speculative twin) writes nothing.
  o = CommitOne(sink.get(), Commit(1, 1, 2, 3, Rows(2, 1)));
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(*o, CommitOutcome::kAlreadyCommitted);
  // A gap and an overlap are refused, naming the offsets.
  o = CommitOne(sink.get(), Commit(2, 1, 4, 5, Rows(4, 1)));
  ASSERT_FALSE(o.has_value());
  EXPECT_NE(o.error().message().find("gap: batch 2 starts at offset 4 but batch 1 ended at "
                                     "offset 3"),
            std::string::npos)
      << o.error().ToString();
  o = CommitOne(sink.get(), Commit(2, 1, 1, 5, Rows(4, 1)));
  ASSERT_FALSE(o.has_value());
  EXPECT_NE(o.error().message().find("overlap"), std::string::npos);

  EXPECT_EQ(Visible(bootstrap, topic),
            (std::vector<std::string>{"0 {\"id\":0}", "1 {\"id\":1}", "2 {\"id\":2}"}));

  // A new sink (a restarted process) reads the marker back and skips what it holds.
  auto again = OpenSink(bootstrap, topic);
  ASSERT_NE(again, nullptr);
  progress = again->ReadProgress(pipeline_);
  ASSERT_TRUE(progress.has_value()) << progress.error().ToString();
  ASSERT_EQ(progress->size(), 1u);
  EXPECT_EQ(progress->at(0).last_batch, BatchId(1));
  EXPECT_EQ(EncodeRanges(progress->at(0).ranges), "0:2-3");
  o = CommitOne(again.get(), Commit(1, 2, 2, 3, Rows(2, 1)));
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(*o, CommitOutcome::kAlreadyCommitted);
  o = CommitOne(again.get(), Commit(2, 2, 3, 4, Rows(3, 1)));
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  EXPECT_EQ(*o, CommitOutcome::kCommitted);
  EXPECT_EQ(Visible(bootstrap, topic).size(), 4u);
  // The first sink's producer was fenced by the second one's: its own (stale) view of the
  // marker lets it try batch 2, and Kafka refuses the transaction.
  o = CommitOne(sink.get(), Commit(2, 1, 3, 4, Rows(3, 1, "zombie")));
  ASSERT_FALSE(o.has_value());
  EXPECT_EQ(o.error().code(), StatusCode::kFenced) << o.error().ToString();
  EXPECT_EQ(Visible(bootstrap, topic).size(), 4u);
}

TEST_F(KafkaSinkTest, AZombieMidTransactionIsFencedAndNothingOfItIsVisible) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("sink-zombie");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  auto zombie = OpenSink(bootstrap, topic);
  ASSERT_NE(zombie, nullptr);
  ASSERT_TRUE(zombie->ReadProgress(pipeline_).has_value());
  ASSERT_TRUE(CommitOne(zombie.get(), Commit(0, 1, 0, 2, Rows(0, 2))).has_value());
  // The zombie's next commit stalls with its transaction open and its rows sent ...
  ASSERT_TRUE(faults::Arm("before_sink_commit=pause#1").ok());
  auto zombie_rows = Rows(2, 3, "zombie");
  auto stalled = std::async(
      std::launch::async, [&] { return CommitOne(zombie.get(), Commit(1, 1, 2, 5, zombie_rows)); });
  faults::WaitPaused("before_sink_commit");
  // ... while its successor starts: init_transactions aborts the zombie's transaction.
  auto successor = OpenSink(bootstrap, topic);
  ASSERT_NE(successor, nullptr);
  auto progress = successor->ReadProgress(pipeline_);
  ASSERT_TRUE(progress.has_value()) << progress.error().ToString();
  EXPECT_EQ(progress->at(0).last_batch, BatchId(0));
  auto o = CommitOne(successor.get(), Commit(1, 2, 2, 5, Rows(2, 3, "successor")));
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  EXPECT_EQ(*o, CommitOutcome::kCommitted);
  faults::Release("before_sink_commit");
  Result<CommitOutcome> z = stalled.get();
  ASSERT_FALSE(z.has_value()) << "the zombie's commit went through";
  EXPECT_EQ(z.error().code(), StatusCode::kFenced) << z.error().ToString();

  std::vector<std::string> visible = Visible(bootstrap, topic);
  EXPECT_EQ(visible,
            (std::vector<std::string>{
                "0 {\"id\":0}", "1 {\"id\":1}", "2 {\"id\":2,\"tag\":\"successor\"}",
                "3 {\"id\":3,\"tag\":\"successor\"}", "4 {\"id\":4,\"tag\":\"successor\"}"}));
}

TEST_F(KafkaSinkTest, AnOlderEpochIsFencedByTheMarker) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("sink-epoch");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  auto sink = OpenSink(bootstrap, topic);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(CommitOne(sink.get(), Commit(0, 5, 0, 1, Rows(0, 1))).has_value());
  auto o = CommitOne(sink.get(), Commit(1, 4, 1, 2, Rows(1, 1)));
  ASSERT_FALSE(o.has_value());
  EXPECT_EQ(o.error().code(), StatusCode::kFenced);
  EXPECT_EQ(Visible(bootstrap, topic).size(), 1u);
}

TEST_F(KafkaSinkTest, AClaimFencesTheOtherProcessAndContinuesFromItsMarker) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("sink-claim");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  // Two processes of one pipeline (scale-out): the first owned task 0 under generation 3.
  auto first = OpenSink(bootstrap, topic);
  auto second = OpenSink(bootstrap, topic);
  ASSERT_TRUE(first != nullptr && second != nullptr);
  const int32_t tasks[] = {0};
  ASSERT_TRUE(first->Claim(pipeline_, tasks, Epoch(3)).has_value());
  ASSERT_EQ(CommitOne(first.get(), Commit(7, 3, 0, 2, Rows(0, 2))), CommitOutcome::kCommitted);
  // Generation 4 gives the task to the second process, which claims it: the first's producer
  // is fenced by init_transactions; the claim returns the first's last marker, and peeking
  // takes nothing over.
  auto claimed = second->Claim(pipeline_, tasks, Epoch(4));
  ASSERT_TRUE(claimed.has_value()) << claimed.error().ToString();
  EXPECT_EQ(claimed->at(0).last_batch, BatchId(7));
  EXPECT_EQ(claimed->at(0).epoch, Epoch(4));
  EXPECT_EQ(claimed->at(0).ranges,
            (std::vector<TaskRange>{{PartitionId(0), Offset(0), Offset(2)}}));
  auto peek = first->PeekProgress(pipeline_);
  ASSERT_TRUE(peek.has_value()) << peek.error().ToString();
  EXPECT_EQ(peek->at(0).last_batch, BatchId(7));
  // The first process, unaware, commits its next batch: refused.
  auto zombie = CommitOne(first.get(), Commit(8, 3, 2, 4, Rows(2, 2, "zombie")));
  ASSERT_FALSE(zombie.has_value());
  EXPECT_EQ(zombie.error().code(), StatusCode::kFenced) << zombie.error().ToString();
  // An older claim is refused once the newer owner has committed under its epoch.
  ASSERT_EQ(CommitOne(second.get(), Commit(8, 4, 2, 4, Rows(2, 2, "owner"))),
            CommitOutcome::kCommitted);
  auto old = first->Claim(pipeline_, tasks, Epoch(3));
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code(), StatusCode::kFenced) << old.error().ToString();
  // A later generation gives it back to the first process, which continues exactly.
  ASSERT_TRUE(first->Claim(pipeline_, tasks, Epoch(5)).has_value());
  ASSERT_EQ(CommitOne(first.get(), Commit(9, 5, 4, 5, Rows(4, 1))), CommitOutcome::kCommitted);
  EXPECT_EQ(
      Visible(bootstrap, topic),
      (std::vector<std::string>{"0 {\"id\":0}", "1 {\"id\":1}", "2 {\"id\":2,\"tag\":\"owner\"}",
                                "3 {\"id\":3,\"tag\":\"owner\"}", "4 {\"id\":4}"}));
}

TEST_F(KafkaSinkTest, AFailedWriteAbortsTheWholeTransaction) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("sink-throw");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  auto sink = OpenSink(bootstrap, topic);
  ASSERT_NE(sink, nullptr);
  for (const char* point : {"mid_sink_write", "before_sink_commit"}) {
    ASSERT_TRUE(faults::Arm(std::string(point) + "=throw").ok());
    auto o = CommitOne(sink.get(), Commit(0, 1, 0, 4, Rows(0, 4)));
    ASSERT_FALSE(o.has_value()) << point;
    faults::DisarmAll();
  }
  EXPECT_TRUE(Visible(bootstrap, topic).empty());
  // after_sink_commit fails after the commit: the retry finds the marker.
  ASSERT_TRUE(faults::Arm("after_sink_commit=throw#1").ok());
  ASSERT_FALSE(CommitOne(sink.get(), Commit(0, 1, 0, 4, Rows(0, 4))).has_value());
  auto o = CommitOne(sink.get(), Commit(0, 1, 0, 4, Rows(0, 4)));
  ASSERT_TRUE(o.has_value()) << o.error().ToString();
  EXPECT_EQ(*o, CommitOutcome::kAlreadyCommitted);
  EXPECT_EQ(Visible(bootstrap, topic).size(), 4u);
}

TEST_F(KafkaSinkTest, SeveralTasksAndDeadLettersInOneCommit) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("sink-tasks");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  auto sink = OpenSink(bootstrap, topic);
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->ReadProgress(pipeline_).has_value());
  std::vector<DeadLetter> dead = {{PartitionId(1), Offset(7), "{not json", "bad record"}};
  TaskCommit a = Commit(0, 1, 0, 2, Rows(0, 2));
  TaskCommit b = Commit(0, 1, 0, 8, Rows(10, 1));
  b.task = 1;
  b.ranges = {{PartitionId(1), Offset(0), Offset(8)}};
  b.dead_letters = dead;
  std::vector<TaskCommit> both = {a, b};
  auto outcomes = sink->Commit(both);
  ASSERT_TRUE(outcomes.has_value()) << outcomes.error().ToString();
  EXPECT_EQ(*outcomes,
            (std::vector<CommitOutcome>{CommitOutcome::kCommitted, CommitOutcome::kCommitted}));
  // Replayed together: both skipped.
  outcomes = sink->Commit(both);
  ASSERT_TRUE(outcomes.has_value());
  EXPECT_EQ(*outcomes, (std::vector<CommitOutcome>{CommitOutcome::kAlreadyCommitted,
                                                   CommitOutcome::kAlreadyCommitted}));
  // The same task twice in one call is refused before anything is written.
  std::vector<TaskCommit> twice = {Commit(1, 1, 2, 3, Rows(2, 1)), Commit(1, 1, 2, 3, Rows(2, 1))};
  ASSERT_FALSE(sink->Commit(twice).has_value());

  EXPECT_EQ(Visible(bootstrap, topic).size(), 3u);
  EXPECT_EQ(Visible(bootstrap, topic + "-dead"),
            (std::vector<std::string>{" {\"pipeline\":\"" + pipeline_ +
                                      "\",\"batch\":0,\"partition\":1,"
                                      "\"offset\":7,\"raw\":\"{not json\",\"error\":\"bad "
                                      "record\"}"}));
  auto progress = sink->ReadProgress(pipeline_);
  ASSERT_TRUE(progress.has_value());
  ASSERT_EQ(progress->size(), 2u);
  EXPECT_EQ(EncodeRanges(progress->at(1).ranges), "1:0-8");
}

}  // namespace
}  // namespace onceflow::sink
