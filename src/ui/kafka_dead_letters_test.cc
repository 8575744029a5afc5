// The dead letters of a Kafka sink, against the real broker of the test run (ONCEFLOW_TEST_KAFKA;
// a failure, not a skip, under ONCEFLOW_REQUIRE_SERVICES=1): ReadKafkaDeadLetters over a topic
// written by transactional producers (aborted ones unseen, other pipelines and records that are
// not dead letters left out, read back across chunks), then `onceflow ui` serving those of a
// pipeline that ran into a Kafka sink.
#include "ui/kafka_dead_letters.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <simdjson.h>

#include <thread>

#include "testing/cli_test_base.h"
#include "testing/kafka.h"
#include "testing/services.h"
#include "util/json_escape.h"

namespace onceflow::ui {
namespace {

using onceflow::testing::CreateTestTopic;
using onceflow::testing::TestProducer;
using onceflow::testing::UniqueTopic;

std::string DeadLetterJson(const std::string& pipeline, int64_t batch, int64_t partition,
                           int64_t offset, std::string_view raw, std::string_view error) {
  std::string out = "{\"pipeline\":";
  AppendJsonString(&out, pipeline, InvalidUtf8::kKeep);
  out += ",\"batch\":" + std::to_string(batch) + ",\"partition\":" + std::to_string(partition) +
         ",\"offset\":" + std::to_string(offset) + ",\"raw\":";
  AppendJsonString(&out, raw, InvalidUtf8::kKeep);
  out += ",\"error\":";
  AppendJsonString(&out, error, InvalidUtf8::kKeep);
  return out + "}";
}

// "batch/partition/offset raw | error" per dead letter, in the order given.
std::vector<std::string> Lines(const std::vector<StoredDeadLetter>& letters) {
  std::vector<std::string> out;
  for (const StoredDeadLetter& d : letters) {
    out.push_back(std::to_string(d.batch_id) + "/" + std::to_string(d.partition) + "/" +
                  std::to_string(d.offset) + " " + d.raw + " | " + d.error);
  }
  return out;
}

TEST(KafkaDeadLettersTest, CommittedOnesOfThePipelineNewestFirstAcrossChunks) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string topic = UniqueTopic("ui-dead-letters");
  ASSERT_TRUE(CreateTestTopic(bootstrap, topic, 1).ok());
  Result<TestProducer> producer = TestProducer::Make(bootstrap, topic + "-tx");
  ASSERT_TRUE(producer.has_value()) << producer.error().ToString();
  auto send = [&](const std::string& value) { ASSERT_TRUE(producer->Send(topic, 0, value).ok()); };
  // Batch 0: three of ours and one of another pipeline (whose name starts as ours).
  ASSERT_TRUE(producer->Begin().ok());
  for (int64_t o = 0; o < 3; ++o)
    send(DeadLetterJson("p", 0, 1, 10 + o, "bad " + std::to_string(o), "not JSON"));
  send(DeadLetterJson("p2", 0, 0, 5, "x", "theirs"));
  ASSERT_TRUE(producer->Commit().ok());
  // An aborted attempt of batch 1: never shown.
  ASSERT_TRUE(producer->Begin().ok());
  send(DeadLetterJson("p", 1, 0, 99, "aborted", "aborted attempt"));
  ASSERT_TRUE(producer->Flush().ok());  // on the broker, then aborted
  ASSERT_TRUE(producer->Abort().ok());
  // Batch 1 committed: a raw value that is not UTF-8, and a record that is no dead letter.
  ASSERT_TRUE(producer->Begin().ok());
  send(DeadLetterJson("p", 1, 0, 20, "caf\xE9", "bad UTF-8"));
  send(DeadLetterJson("p", 1, 0, 21, "{\"id\":", "cut short"));
  send("not a dead letter");
  ASSERT_TRUE(producer->Commit().ok());
  // Many of another pipeline after them: ours are found by reading back over several chunks.
  ASSERT_TRUE(producer->Begin().ok());
  for (int i = 0; i < 2500; ++i) send(DeadLetterJson("other", i, 0, i, "r", "e"));
  ASSERT_TRUE(producer->Commit().ok());

  KafkaSinkOptions options;
  options.bootstrap = bootstrap;
  options.dead_letter_topic = topic;
  options.request_timeout = testing::kKafkaTimeout;
  std::string note;
  Result<std::vector<StoredDeadLetter>> all =
      ReadKafkaDeadLetters(options, "p", {.limit = 100, .batch_id = std::nullopt}, &note);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(Lines(*all),
            (std::vector<std::string>{
                "1/0/21 {\"id\": | cut short", "1/0/20 caf\xEF\xBF\xBD | bad UTF-8",
                "0/1/12 bad 2 | not JSON", "0/1/11 bad 1 | not JSON", "0/1/10 bad 0 | not JSON"}));
  // The record that is no dead letter is named by its offset (4 records and a commit marker,
  // the aborted record and its marker, then two records: offset 9).
  EXPECT_NE(note.find("1 record(s) of topic " + topic +
                      " are not dead letters (the first at "
                      "offset 9"),
            std::string::npos)
      << note;
  // Paged: the newest two; one batch's.
  Result<std::vector<StoredDeadLetter>> two =
      ReadKafkaDeadLetters(options, "p", {.limit = 2, .batch_id = std::nullopt}, nullptr);
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(Lines(*two), (std::vector<std::string>{"1/0/21 {\"id\": | cut short",
                                                   "1/0/20 caf\xEF\xBF\xBD | bad UTF-8"}));
  Result<std::vector<StoredDeadLetter>> batch0 =
      ReadKafkaDeadLetters(options, "p", {.limit = 100, .batch_id = 0}, nullptr);
  ASSERT_TRUE(batch0.has_value());
  EXPECT_EQ(Lines(*batch0).size(), 3u);
  Result<std::vector<StoredDeadLetter>> other =
      ReadKafkaDeadLetters(options, "other", {.limit = 1500, .batch_id = std::nullopt}, nullptr);
  ASSERT_TRUE(other.has_value());
  ASSERT_EQ(other->size(), 1500u);
  EXPECT_EQ(other->front().batch_id, 2499);
  EXPECT_EQ(other->back().batch_id, 1000);
  // A topic that was never created holds none (and is not created).
  options.dead_letter_topic = UniqueTopic("ui-no-dead-letters");
  Result<std::vector<StoredDeadLetter>> none = ReadKafkaDeadLetters(options, "p", {}, nullptr);
  ASSERT_TRUE(none.has_value()) << none.error().ToString();
  EXPECT_TRUE(none->empty());
}

// Waits for "serving http://127.0.0.1:" and a port in the process's stderr; 0 if it exited.
int WaitForUiPort(testing::Process& p) {
  const std::string marker = "serving http://127.0.0.1:";
  const auto deadline = std::chrono::steady_clock::now() + testing::kHangGuard;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string err = p.err();
    const size_t at = err.find(marker);
    if (at != std::string::npos &&
        err.find_first_not_of("0123456789", at + marker.size()) != std::string::npos) {
      return std::stoi(err.substr(at + marker.size()));
    }
    if (p.Poll()) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return 0;
}

class UiKafkaSinkTest : public testing::CliTestBase {};

TEST_F(UiKafkaSinkTest, DeadLettersOfAKafkaSinkAreServed) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  const std::string out_topic = UniqueTopic("ui-kafka-out");
  ASSERT_TRUE(CreateTestTopic(bootstrap, out_topic, 1).ok());
  // A unique pipeline name: the dead-letter topic (onceflow_dead_letters) is shared.
  const std::string name = UniqueTopic("uidl");
  ASSERT_EQ(RunData({"topics", "create", "events", "--partitions", "1"}).exit_code, 0);
  ASSERT_EQ(RunData({"produce", "events"}, "{\"id\":1}\n{not json\n{\"id\":2}\n").exit_code, 0);
  const std::string toml = tmp_ + "/k.toml";
  testing::WriteWholeFile(toml, "name = \"" + name +
                                    "\"\n[source]\ntopic = \"events\"\n[sink]\n"
                                    "type = \"kafka\"\nbootstrap = \"" +
                                    bootstrap + "\"\ntopic = \"" + out_topic + "\"\n");
  testing::RunResult run = RunData({"run", toml, "--until-caught-up"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  testing::Process ui({"ui", "--data", data_, "--http", "127.0.0.1:0"}, "/dev/null",
                      TempPath("ui.out"), TempPath("ui.err"));
  const int port = WaitForUiPort(ui);
  ASSERT_GT(port, 0) << ui.err();
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::duration_cast<std::chrono::seconds>(testing::kHangGuard));
  auto res = client.Get("/api/v1/pipelines/" + name + "/dead_letters?limit=10");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(res->body).get(doc), simdjson::SUCCESS) << res->body;
  simdjson::dom::array letters = doc["dead_letters"].get_array();
  ASSERT_EQ(letters.size(), 1u) << res->body;
  simdjson::dom::element d = letters.at(0);
  EXPECT_EQ(int64_t(d["partition"]), 0);
  EXPECT_EQ(int64_t(d["offset"]), 1);
  EXPECT_EQ(std::string_view(d["raw"]), "{not json");
  EXPECT_FALSE(std::string_view(d["error"]).empty());
  const int64_t batch = int64_t(d["batch_id"]);
  // The batch's page lists it too.
  auto b = client.Get("/api/v1/pipelines/" + name + "/batches/" + std::to_string(batch));
  ASSERT_TRUE(b);
  ASSERT_EQ(b->status, 200) << b->body;
  simdjson::dom::parser parser2;
  simdjson::dom::element bdoc;
  ASSERT_EQ(parser2.parse(b->body).get(bdoc), simdjson::SUCCESS) << b->body;
  simdjson::dom::array in_batch = bdoc["dead_letter_records"].get_array();
  ASSERT_EQ(in_batch.size(), 1u) << b->body;
  EXPECT_EQ(std::string_view(in_batch.at(0)["raw"]), "{not json");
  EXPECT_EQ(std::string_view(bdoc["dead_letter_records_error"]), "") << b->body;
  ui.Signal(SIGTERM);
  EXPECT_EQ(ui.Wait(), 0) << ui.err();
}

}  // namespace
}  // namespace onceflow::ui
