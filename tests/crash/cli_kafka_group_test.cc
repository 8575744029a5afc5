// Scale-out against the real broker and server: several `onceflow run` processes of one
// pipeline share a Kafka topic through its consumer group and write to PostgreSQL. Processes are
// SIGKILLed and restarted (each kill and each start is a rebalance), and a process is paused
// with SIGSTOP until the group gives its partitions away, then resumed: its in-flight commit is
// refused (fenced by the group generation claimed in the sink). Every case ends with the sink
// holding each record exactly once. Label crash-kafka.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "onceflow/batch_history.h"
#include "testing/cli_test_base.h"
#include "testing/kafka.h"
#include "testing/postgres.h"

namespace onceflow::testing {
namespace {

using onceflow::testing::PgQuery;
using Clock = std::chrono::steady_clock;

class CliKafkaGroupTest : public CliTestBase {
 protected:
  // A pipeline writing each record to `events` (a PostgreSQL table, or a Kafka topic with
  // sink = "kafka"), its partitions shared by the group.
  void Setup(const std::string& bootstrap, int partitions, int max_per_partition,
             const std::string& sink = "postgres") {
    topic_ = UniqueTopic("group");
    ASSERT_TRUE(CreateTestTopic(bootstrap, topic_, partitions).ok());
    partitions_ = partitions;
    bootstrap_ = bootstrap;
    toml_ = tmp_ + "/events.toml";
    // The pipeline is named after its unique topic: the Kafka sink's transactional ids and the
    // consumer group derive from the name, and tests run side by side.
    const std::string head = R"toml(name = ")toml" + topic_ + R"toml("
batch_interval_ms = 20
max_records_per_partition = )toml" +
                             std::to_string(max_per_partition) + R"toml(
[source]
type = "kafka"
bootstrap = ")toml" + bootstrap +
                             R"toml("
topic = ")toml" + topic_ + R"toml("
assign = "group"
session_timeout_ms = 6000
format = "json"
)toml";
    if (sink == "kafka") {
      out_topic_ = topic_ + "-out";
      ASSERT_TRUE(CreateTestTopic(bootstrap, out_topic_, 2).ok());
      WriteWholeFile(toml_, head + R"toml([sink]
type = "kafka"
bootstrap = ")toml" + bootstrap +
                                R"toml("
topic = ")toml" + out_topic_ + R"toml("
key_field = "id"
)toml");
      return;
    }
    conninfo_ = onceflow::testing::WithSchema(onceflow::testing::TestPostgres(),
                                              onceflow::testing::UniqueName("group"));
    WriteWholeFile(toml_, head + R"toml([sink]
type = "postgres"
conninfo = ")toml" + conninfo_ +
                              R"toml("
init = ["CREATE TABLE IF NOT EXISTS events(id BIGINT NOT NULL, part INTEGER NOT NULL)"]
mode = "append"
table = "events"
)toml");
  }

  // Appends `n` records with the next ids, round robin over the partitions.
  void Produce(int n) {
    auto producer = TestProducer::Make(bootstrap_);
    ASSERT_TRUE(producer.has_value()) << producer.error().ToString();
    for (int i = 0; i < n; ++i, ++produced_) {
      const int32_t p = static_cast<int32_t>(produced_ % partitions_);
      const std::string v =
          "{\"id\":" + std::to_string(produced_) + ",\"part\":" + std::to_string(p) + "}";
      ASSERT_TRUE(producer->Send(topic_, p, v).ok());
    }
    ASSERT_TRUE(producer->Flush().ok());
  }

  // The ids a read_committed consumer sees in the output topic (kafka sink).
  std::vector<int64_t> OutputIds() {
    std::vector<int64_t> ids;
    auto records = ReadCommitted(bootstrap_, out_topic_);
    if (!records.has_value()) return ids;
    for (const auto& r : *records) {
      const size_t at = r.value.find("\"id\":");
      if (at != std::string::npos) ids.push_back(std::stoll(r.value.substr(at + 5)));
    }
    return ids;
  }

  int64_t Rows() {
    if (!out_topic_.empty()) return static_cast<int64_t>(OutputIds().size());
    std::string not_yet;  // no table before the first process creates it
    auto rows = PgQuery(conninfo_, "SELECT count(*) FROM events", &not_yet);
    return rows.empty() ? 0 : std::stoll(rows[0]);
  }

  // Waits until the sink holds `n` rows (or `timeout` passes); returns the last count.
  int64_t WaitForRows(int64_t n, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    int64_t rows = Rows();
    while (rows < n && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      rows = Rows();
    }
    return rows;
  }

  // "" when the sink holds ids 0..produced-1, each exactly once.
  std::string CheckExactlyOnce() {
    if (!out_topic_.empty()) {
      std::vector<int64_t> ids = OutputIds();
      std::sort(ids.begin(), ids.end());
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] != static_cast<int64_t>(i)) {
          return "output id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                 " (a duplicate or a gap)";
        }
      }
      if (static_cast<int64_t>(ids.size()) != produced_) {
        return std::to_string(ids.size()) + " output records, expected " +
               std::to_string(produced_);
      }
      return "";
    }
    auto stats = PgQuery(conninfo_, "SELECT count(*), count(DISTINCT id), min(id), max(id) "
                                    "FROM events");
    const std::string n = std::to_string(produced_);
    const std::string want = n + "|" + n + "|0|" + std::to_string(produced_ - 1);
    if (stats.size() != 1 || stats[0] != want) {
      return "rows|distinct|min|max = " + (stats.empty() ? "?" : stats[0]) + ", expected " + want;
    }
    auto misplaced = PgQuery(conninfo_, "SELECT count(*) FROM events WHERE id % " +
                                            std::to_string(partitions_) + " <> part");
    if (misplaced.size() != 1 || misplaced[0] != "0") return "rows with a wrong partition";
    return "";
  }

  // The highest epoch in the progress rows: the group generation of the last claim.
  int64_t MaxEpoch() {
    if (!out_topic_.empty()) return -1;  // the markers are in Kafka's progress topic
    auto r = PgQuery(conninfo_, "SELECT max(epoch) FROM onceflow_progress");
    return r.size() == 1 && r[0] != "NULL" ? std::stoll(r[0]) : -1;
  }

  std::unique_ptr<Process> Start(int member, const std::vector<std::string>& extra = {},
                                 const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = {"run", toml_, "--data", tmp_ + "/d" + std::to_string(member)};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string err = TempPath("err" + std::to_string(member));
    errs_.push_back(err);
    return std::make_unique<Process>(args, "/dev/null", TempPath("out"), err, env);
  }

  // How many times `text` occurs in `s`.
  static int Count(const std::string& s, const std::string& text) {
    int n = 0;
    for (size_t at = s.find(text); at != std::string::npos; at = s.find(text, at + 1)) ++n;
    return n;
  }

  // The line of `s` holding `text`, or "".
  static std::string LineWith(const std::string& s, const std::string& text) {
    const size_t at = s.find(text);
    if (at == std::string::npos) return "";
    const size_t begin = s.rfind('\n', at);
    const size_t end = s.find('\n', at);
    return s.substr(begin == std::string::npos ? 0 : begin + 1,
                    end == std::string::npos ? std::string::npos : end - begin - 1);
  }

  // Every stderr of every process started so far, concatenated.
  std::string AllErr() {
    std::string all;
    for (const std::string& e : errs_) all += ReadWholeFile(e);
    return all;
  }

  static bool WaitForText(Process* p, const std::string& text, std::chrono::seconds timeout,
                          size_t from = 0) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (p->err().find(text, from) != std::string::npos) return true;
      if (p->Poll()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::string bootstrap_, topic_, out_topic_, conninfo_, toml_;
  int partitions_ = 0;
  int64_t produced_ = 0;
  std::vector<std::string> errs_;
};

class CliKafkaGroupSinkTest : public CliKafkaGroupTest,
                              public ::testing::WithParamInterface<std::string> {};

TEST_P(CliKafkaGroupSinkTest, ThreeProcessesThroughKillsAndRebalancesWriteEveryRecordOnce) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  if (GetParam() == "postgres") ONCEFLOW_REQUIRE_POSTGRES();
  ASSERT_NO_FATAL_FAILURE(Setup(bootstrap, 6, 40, GetParam()));
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  ASSERT_NO_FATAL_FAILURE(Produce(3000));

  std::unique_ptr<Process> members[3];
  for (int m = 0; m < 3; ++m) members[m] = Start(m);
  // SIGKILL a random member at random moments and start it again: each kill moves its
  // partitions after the session timeout, each start moves some back.
  constexpr int kKills = 5;
  std::uniform_int_distribution<int> pick(0, 2), delay_ms(1500, 4000);
  for (int k = 0; k < kKills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    const int m = pick(rng);
    ASSERT_FALSE(members[m]->Poll().has_value()) << "member " << m << " ended by itself:\n"
                                                 << members[m]->err();
    members[m]->Signal(SIGKILL);
    members[m]->Wait();
    ASSERT_NO_FATAL_FAILURE(Produce(500));
    members[m] = Start(m);
  }
  ASSERT_NO_FATAL_FAILURE(Produce(1000));
  const int64_t rows = WaitForRows(produced_, kHangGuard);
  EXPECT_EQ(rows, produced_) << AllErr();
  // A clean stop leaves the group; each member ends with 0.
  for (auto& m : members) m->Signal(SIGTERM);
  for (auto& m : members) EXPECT_EQ(m->Wait(), 0) << m->err();

  // Two new processes with --until-caught-up: both end once the sink holds everything the
  // topic had when they started, whoever of them owned which partition.
  ASSERT_NO_FATAL_FAILURE(Produce(600));
  std::unique_ptr<Process> finishers[2] = {Start(0, {"--until-caught-up"}),
                                           Start(1, {"--until-caught-up"})};
  for (auto& f : finishers) EXPECT_EQ(f->Wait(kHangGuard), 0) << f->err();

  EXPECT_EQ(CheckExactlyOnce(), "") << AllErr();
  const std::string err = AllErr();
  EXPECT_NE(err.find("claimed in the sink"), std::string::npos) << err;
  // Each kill and start made a new generation; the claims carried them into the sink.
  if (GetParam() == "postgres") {
    EXPECT_GT(MaxEpoch(), kKills) << err;
  }
  std::printf("%lld records through %d kills: %d claims, %d batches fenced, last generation "
              "%lld\n",
              static_cast<long long>(produced_), kKills, Count(err, "claimed in the sink"),
              Count(err, "was refused"), static_cast<long long>(MaxEpoch()));
}

INSTANTIATE_TEST_SUITE_P(Sinks, CliKafkaGroupSinkTest, ::testing::Values("postgres", "kafka"),
                         [](const auto& info) { return info.param; });

TEST_F(CliKafkaGroupTest, AZombieResumedAfterItsPartitionsMovedIsFenced) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  ONCEFLOW_REQUIRE_POSTGRES();
  ASSERT_NO_FATAL_FAILURE(Setup(bootstrap, 4, 20));
  ASSERT_NO_FATAL_FAILURE(Produce(4000));
  // The zombie-to-be stops itself (SIGSTOP, every thread) right after the intent of its third
  // batch: a batch planned under the generation that gave it every partition, outside any sink
  // transaction. No guessed moment: the test acts once the process says it stopped.
  std::unique_ptr<Process> zombie = Start(0, {}, {{"ONCEFLOW_FAULTS", "after_intent=stop#3"}});
  ASSERT_TRUE(WaitForText(zombie.get(), "gives this process partitions [0, 1, 2, 3]", kHangGuard))
      << zombie->err();
  ASSERT_TRUE(WaitForText(zombie.get(), "fault point after_intent: stopped", kHangGuard))
      << zombie->err();
  ASSERT_GT(WaitForRows(1, kHangGuard), 0) << zombie->err();

  // Stopped, the zombie misses its heartbeats; the group gives all its partitions to the other
  // process, which claims them. Resumed, the zombie commits the batch it had planned, with its
  // old generation: refused.
  std::unique_ptr<Process> other = Start(1);
  ASSERT_TRUE(WaitForText(other.get(), "gives this process partitions [0, 1, 2, 3]", kHangGuard))
      << other->err();
  ASSERT_TRUE(WaitForText(other.get(), "claimed in the sink", kHangGuard)) << other->err();
  zombie->Signal(SIGCONT);
  EXPECT_TRUE(WaitForText(zombie.get(), "was refused", kHangGuard)) << "zombie:\n"
                                                                    << zombie->err() << "\nother:\n"
                                                                    << other->err();
  std::printf("%s\n", LineWith(zombie->err(), "was refused").c_str());

  ASSERT_NO_FATAL_FAILURE(Produce(400));
  EXPECT_EQ(WaitForRows(produced_, kHangGuard), produced_) << AllErr();
  zombie->Signal(SIGTERM);
  other->Signal(SIGTERM);
  EXPECT_EQ(zombie->Wait(), 0) << zombie->err();
  EXPECT_EQ(other->Wait(), 0) << other->err();
  EXPECT_EQ(CheckExactlyOnce(), "") << AllErr();
  // The zombie's batch history has the refused attempt as a "fenced" record with its error,
  // and no batch committed twice.
  Result<HistoryReadResult> history = ReadBatchHistory(tmp_ + "/d0/pipelines/" + topic_);
  ASSERT_TRUE(history.has_value()) << history.error().ToString();
  EXPECT_EQ(history->warning, "");
  int fenced = 0;
  std::set<int64_t> committed;
  for (const BatchRecord& b : history->batches) {
    if (b.outcome == "fenced") {
      ++fenced;
      EXPECT_NE(b.error.find("is fenced by epoch"), std::string::npos) << b.error;
    }
    if (b.outcome == "committed") {
      EXPECT_TRUE(committed.insert(b.batch_id).second) << "batch " << b.batch_id;
    }
  }
  EXPECT_GE(fenced, 1) << LineWith(zombie->err(), "was refused");
}

}  // namespace
}  // namespace onceflow::testing
