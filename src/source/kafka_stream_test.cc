// KafkaSource's partition streams against the real broker: a read that starts where the last one
// ended goes on without a seek; any other start seeks and still reads exactly its range, however
// far the stream had prefetched; a range deleted under a stream is an error, never a short read.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <thread>

#include "source/kafka_source.h"
#include "testing/kafka.h"

namespace onceflow::source {
namespace {

using ::onceflow::testing::CreateTestTopic;
using ::onceflow::testing::TestProducer;
using ::onceflow::testing::UniqueTopic;

// (offset, value) of each record of a range.
using Records = std::vector<std::pair<int64_t, std::string>>;

Result<Records> ReadStreamRange(KafkaSource* source, int64_t from, int64_t until) {
  Records out;
  Status s =
      source->Read(PartitionId(0), Offset(from), Offset(until), [&](Offset o, const RecordView& r) {
        out.emplace_back(o.value(), std::string(r.value));
        return Status::Ok();
      });
  if (!s.ok()) return Err(s);
  return out;
}

// What partition 0 holds in [from, until) when record i's value is "v<i>".
Records Expected(int64_t from, int64_t until) {
  Records out;
  for (int64_t o = from; o < until; ++o) out.emplace_back(o, "v" + std::to_string(o));
  return out;
}

Status ProduceValues(const std::string& bootstrap, const std::string& topic, int64_t from,
                     int64_t until) {
  ONCEFLOW_ASSIGN_OR_RETURN(TestProducer producer, TestProducer::Make(bootstrap));
  for (int64_t i = from; i < until; ++i) {
    ONCEFLOW_RETURN_IF_ERROR(producer.Send(topic, 0, "v" + std::to_string(i)));
  }
  return producer.Flush();
}

Result<std::unique_ptr<KafkaSource>> OpenStreamSource(const std::string& bootstrap,
                                                      const std::string& topic) {
  KafkaSourceOptions o;
  o.bootstrap = bootstrap;
  o.topic = topic;
  o.group = "onceflow-stream-test";
  o.read_timeout = std::chrono::milliseconds(5000);
  return KafkaSource::Open(std::move(o));
}

// Deletes partition 0's records below `before` (what retention does), through the Admin API.
Status DeleteRecordsBefore(const std::string& bootstrap, const std::string& topic, int64_t before) {
  ONCEFLOW_ASSIGN_OR_RETURN(kafka::Handle admin,
                            kafka::MakeClient(kafka::ClientKind::kProducer, bootstrap, {}));
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offsets, topic.c_str(), 0)->offset = before;
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(offsets);
  rd_kafka_topic_partition_list_destroy(offsets);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin.get());
  rd_kafka_DeleteRecords(admin.get(), &del, 1, nullptr, queue);
  rd_kafka_DeleteRecords_destroy(del);
  rd_kafka_event_t* ev =
      rd_kafka_queue_poll(queue, static_cast<int>(::onceflow::testing::kKafkaTimeout.count()));
  Status s = Status::Ok();
  if (ev == nullptr) {
    s = Status::IoError("DeleteRecords: no answer");
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    s = Status::IoError(std::string("DeleteRecords: ") + rd_kafka_event_error_string(ev));
  } else {
    const rd_kafka_topic_partition_list_t* result =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
    if (result == nullptr || result->cnt != 1 || result->elems[0].err) {
      s = Status::IoError("DeleteRecords: partition 0 not deleted");
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  return s;
}

TEST(KafkaStreamTest, ConsecutiveRangesGoOnWithoutASeek) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("stream-consecutive");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  ASSERT_TRUE(ProduceValues(bootstrap, topic, 0, 1000).ok());
  auto source = OpenStreamSource(bootstrap, topic);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  for (auto [from, until] :
       std::vector<std::pair<int64_t, int64_t>>{{0, 100}, {100, 101}, {101, 250}, {250, 1000}}) {
    auto r = ReadStreamRange(source->get(), from, until);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(*r, Expected(from, until)) << "[" << from << ", " << until << ")";
  }
  // Records produced after the stream caught up reach the same stream.
  ASSERT_TRUE(ProduceValues(bootstrap, topic, 1000, 1100).ok());
  auto late = ReadStreamRange(source->get(), 1000, 1100);
  ASSERT_TRUE(late.has_value()) << late.error().ToString();
  EXPECT_EQ(*late, Expected(1000, 1100));
  EXPECT_EQ((*source)->consumers_made(), 1u);
  const KafkaSource::ReadCounts counts = (*source)->read_counts();
  EXPECT_EQ(counts.continued, 5u);
  EXPECT_EQ(counts.seeked, 0u);
  EXPECT_EQ(counts.fresh_retries, 0u);
}

TEST(KafkaStreamTest, AnyOtherStartSeeksAndReadsExactlyItsRange) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("stream-seek");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  constexpr int64_t kEnd = 3000;
  ASSERT_TRUE(ProduceValues(bootstrap, topic, 0, kEnd).ok());
  auto source = OpenStreamSource(bootstrap, topic);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  // Each read leaves the stream prefetching past its end; the next one starts behind it (a
  // replay), ahead of it (a range another process read), at it (the next batch), or inside the
  // records a previous read took past its end.
  std::vector<std::pair<int64_t, int64_t>> ranges = {
      {0, 10}, {5, 6},       {2500, 2600}, {10, 2500}, {2600, 2601}, {0, kEnd},   {1, 2},
      {2, 3},  {2999, 3000}, {100, 200},   {150, 160}, {160, 3000},  {1000, 1001}};
  // And a fixed pseudo-random walk of starts and lengths.
  uint64_t x = 42;
  for (int i = 0; i < 40; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto from = static_cast<int64_t>((x >> 33) % kEnd);
    const int64_t len = 1 + static_cast<int64_t>((x >> 13) % 400);
    ranges.emplace_back(from, std::min(kEnd, from + len));
  }
  for (auto [from, until] : ranges) {
    auto r = ReadStreamRange(source->get(), from, until);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    ASSERT_EQ(*r, Expected(from, until)) << "[" << from << ", " << until << ")";
  }
  EXPECT_EQ((*source)->consumers_made(), 1u);  // one reader at a time: one stream, seeking
  const KafkaSource::ReadCounts counts = (*source)->read_counts();
  EXPECT_EQ(counts.continued + counts.seeked, ranges.size());
  EXPECT_GT(counts.seeked, 0u);
  EXPECT_GT(counts.continued, 0u);
  EXPECT_EQ(counts.fresh_retries, 0u);
}

TEST(KafkaStreamTest, ConcurrentReadersOfOnePartitionEachReadTheirExactRange) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("stream-twins");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  ASSERT_TRUE(ProduceValues(bootstrap, topic, 0, 1200).ok());
  auto source = OpenStreamSource(bootstrap, topic);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  // Two readers (a task and its speculative twin) read the same batches side by side, and a
  // third reads the same partition elsewhere: each gets a stream of its own.
  std::atomic<int> bad{0};
  auto reader = [&](int64_t start) {
    for (int64_t from = start; from < start + 600; from += 50) {
      auto r = ReadStreamRange(source->get(), from, from + 50);
      if (!r.has_value() || *r != Expected(from, from + 50)) bad.fetch_add(1);
    }
  };
  std::thread a(reader, 0), b(reader, 0), c(reader, 600);
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(bad.load(), 0);
  const KafkaSource::ReadCounts counts = (*source)->read_counts();
  EXPECT_EQ(counts.continued + counts.seeked, 36u);
  EXPECT_LE((*source)->consumers_made(), 36u);
}

TEST(KafkaStreamTest, ARangeDeletedUnderAStreamIsAnErrorNotAShortRead) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("stream-deleted");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  ASSERT_TRUE(ProduceValues(bootstrap, topic, 0, 200).ok());
  auto source = OpenStreamSource(bootstrap, topic);
  ASSERT_TRUE(source.has_value()) << source.error().ToString();
  auto first = ReadStreamRange(source->get(), 0, 10);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(*first, Expected(0, 10));
  // Retention deletes [0, 100) while the stream stands at 10 with later records prefetched.
  ASSERT_TRUE(DeleteRecordsBefore(bootstrap, topic, 100).ok());
  // A replay of [20, 30) seeks into the deleted records: the broker's answer is an error (the
  // stream's, then a new consumer's), never the records past the gap.
  int seen = 0;
  Status s =
      (*source)->Read(PartitionId(0), Offset(20), Offset(30), [&](Offset, const RecordView&) {
        ++seen;
        return Status::Ok();
      });
  EXPECT_TRUE(s.IsOutOfRange()) << s.ToString();
  EXPECT_NE(s.message().find("[20, 30)"), std::string::npos) << s.ToString();
  EXPECT_EQ(seen, 0);
  EXPECT_EQ((*source)->read_counts().fresh_retries, 1u);
  // What is still there reads exactly.
  auto kept = ReadStreamRange(source->get(), 150, 200);
  ASSERT_TRUE(kept.has_value()) << kept.error().ToString();
  EXPECT_EQ(*kept, Expected(150, 200));
}

}  // namespace
}  // namespace onceflow::source
