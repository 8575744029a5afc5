// End-to-end tests of `onceflow serve` and `onceflow produce --to` against the built binary: a
// round trip, a lost acknowledgement (the server crashes between fsync and ack) retried without
// a duplicate, the bearer token, and a pipeline reading the receiver's topic exactly once.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>

#include "testing/cli_test_base.h"
#include "testing/serve_process.h"
#include "testing/sqlite_query.h"
#include "testing/topic_read.h"
#include "util/fault_points.h"

namespace onceflow::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CliReceiverTest : public CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_EQ(RunData({"topics", "create", "events", "-p", "2"}).exit_code, 0);
  }
  // Starts `onceflow produce events --to url` with one record, "only", and returns once that
  // record is durable in the log (its request is in flight), or after 30 s.
  std::unique_ptr<Process> StartOneRecordInFlight(const std::string& url) {
    const std::string in = TempPath("stdin");
    WriteWholeFile(in, "only\n");
    auto producer =
        std::make_unique<Process>(std::vector<std::string>{"produce", "events", "--to", url}, in,
                                  TempPath("out"), TempPath("err"));
    // Wait until the request is in flight: its record is durable in the log.
    const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
    while (TopicValues(data_, "events").empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return producer;
  }
  // Lines "prefix0".."prefix<n-1>", newline-terminated.
  static std::string Lines(const std::string& prefix, int n, bool json = false) {
    std::string s;
    for (int i = 0; i < n; ++i) {
      s += json ? "{\"id\":\"" + prefix + std::to_string(i) + "\",\"n\":" + std::to_string(i) + "}"
                : prefix + std::to_string(i);
      s += "\n";
    }
    return s;
  }
  // Runs `produce events --to URL extra...` with `input` while restarting `serve` whenever it
  // dies (with `restart_env`), until the producer exits. Returns the producer's result and the
  // number of server restarts in *restarts.
  RunResult ProduceThrough(ServeProcess* serve, const std::string& input,
                           std::vector<std::string> extra,
                           const std::map<std::string, std::string>& restart_env, int* restarts) {
    const std::string in = TempPath("stdin");
    WriteWholeFile(in, input);
    std::vector<std::string> args = {"produce", "events", "--to", serve->url()};
    args.insert(args.end(), extra.begin(), extra.end());
    Process producer(args, in, TempPath("out"), TempPath("err"));
    *restarts = 0;
    const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
    while (!producer.Poll() && std::chrono::steady_clock::now() < deadline) {
      if (std::optional<int> code = serve->Poll()) {
        if (*code != faults::kCrashExitCode) {
          ADD_FAILURE() << serve->Describe();
          break;
        }
        ++*restarts;
        // The producer is sending: an armed fault may end the server before it prints that it
        // listens (it serves first). That end is checked on the next turn.
        (void)serve->StartMayExit(restart_env);
        if (HasFailure()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    RunResult r;
    r.exit_code = producer.Wait(std::chrono::seconds(1));
    r.out = producer.out();
    r.err = producer.err();
    return r;
  }
};

TEST_F(CliReceiverTest, ProduceToReceiverRoundTripsAndSigtermStopsCleanly) {
  ServeProcess serve(data_, tmp_);
  ASSERT_TRUE(serve.Start());
  RunResult p =
      Run({"produce", "events", "--to", serve.url(), "--batch-records", "50"}, Lines("r", 1000));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_THAT(p.err, HasSubstr("produced 1000 records to topic 'events' through"));
  EXPECT_EQ(serve.Stop(), 0);
  EXPECT_THAT(serve.err(), HasSubstr("finishing the requests in flight"));
  EXPECT_THAT(serve.err(), HasSubstr("stopped after 20 acknowledged requests, 1000 records"));
  // One producer id: one partition, in order.
  std::vector<std::string> values = TopicValues(data_, "events");
  std::vector<std::string> expected = SplitLines(Lines("r", 1000));
  EXPECT_EQ(values, expected);
}

// SIGTERM while a request waits between its fsync and its answer: the answer is still sent,
// then the server exits 0.
TEST_F(CliReceiverTest, SigtermAnswersTheRequestsInFlightBeforeExiting) {
  ServeProcess serve(data_, tmp_);
  ASSERT_TRUE(serve.Start({{"ONCEFLOW_FAULTS", "receiver_before_ack=slow:1500ms"}}));
  std::unique_ptr<Process> producer = StartOneRecordInFlight(serve.url());
  ASSERT_EQ(TopicValues(data_, "events"), std::vector<std::string>{"only"});
  EXPECT_EQ(serve.Stop(), 0) << serve.err();
  EXPECT_EQ(producer->Wait(), 0) << producer->err();
  EXPECT_THAT(producer->err(), HasSubstr("produced 1 records"));
  EXPECT_THAT(producer->err(), Not(HasSubstr("already stored")));  // answered the first time
}

// SIGTERM while one client trickles a body and another request is in flight: the one in
// flight is still answered, the trickling one is cut off with nothing of it stored, and serve
// exits 0 within seconds (before: only after the slow client's 30 s read timeout).
TEST_F(CliReceiverTest, SigtermCutsOffASlowClientAndStillAnswersTheRequestInFlight) {
  ServeProcess serve(data_, tmp_);
  ASSERT_TRUE(serve.Start({{"ONCEFLOW_FAULTS", "receiver_before_ack=slow:1500ms"}}));
  // The slow client: a whole head, then 8 of its 1000 body bytes, then nothing.
  const int slow = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(slow, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(serve.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(slow, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string partial =
      "POST /topics/events/records HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
      "trickle\n";
  ASSERT_EQ(::send(slow, partial.data(), partial.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(partial.size()));
  std::unique_ptr<Process> producer = StartOneRecordInFlight(serve.url());
  ASSERT_EQ(TopicValues(data_, "events"), std::vector<std::string>{"only"});
  // A generous bound that the 30 s read timeout of a slow body would exceed.
  EXPECT_EQ(serve.Stop(std::chrono::seconds(20)), 0) << serve.err();
  EXPECT_EQ(producer->Wait(), 0) << producer->err();
  EXPECT_THAT(producer->err(), HasSubstr("produced 1 records"));
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(slow, buf, sizeof(buf), 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  ::close(slow);
  EXPECT_TRUE(answer.empty() || answer.starts_with("HTTP/1.1 503")) << answer;
  EXPECT_EQ(TopicValues(data_, "events"), std::vector<std::string>{"only"});
}

TEST_F(CliReceiverTest, LostAcknowledgementIsRetriedWithoutDuplicate) {
  ServeProcess serve(data_, tmp_);
  // The third request is durable, then the server dies before acknowledging it.
  ASSERT_TRUE(serve.Start({{"ONCEFLOW_FAULTS", "receiver_before_ack=crash#3"}}));
  int restarts = 0;
  RunResult p = ProduceThrough(&serve, Lines("x", 100), {"--batch-records", "10"}, {}, &restarts);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(restarts, 1);
  EXPECT_THAT(p.err, HasSubstr("1 requests were already stored: their first ack was lost"));
  EXPECT_EQ(serve.Stop(), 0);
  EXPECT_EQ(TopicValues(data_, "events"), SplitLines(Lines("x", 100)));
}

TEST_F(CliReceiverTest, TokenFileIsRequiredAndNeverPrinted) {
  const std::string token_file = tmp_ + "/token";
  WriteWholeFile(token_file, "tok-123\n");
  ServeProcess serve(data_, tmp_, {"--token-file", token_file});
  ASSERT_TRUE(serve.Start());
  RunResult anonymous = Run({"produce", "events", "--to", serve.url()}, "a\n");
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.err, HasSubstr("HTTP 401"));
  EXPECT_THAT(anonymous.err, HasSubstr("missing 'Authorization: Bearer <token>' header"));
  RunResult ok =
      Run({"produce", "events", "--to", serve.url(), "--token-file", token_file}, "a\nb\n");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(serve.Stop(), 0);
  EXPECT_EQ(serve.err().find("tok-123"), std::string::npos);
  EXPECT_EQ(TopicValues(data_, "events").size(), 2u);
}

// Records through a receiver that crashes between fsync and ack again and again, then a
// pipeline from the receiver's topic into SQLite: every record exactly once in the table.
TEST_F(CliReceiverTest, PipelineReadingTheReceiverTopicIsExactlyOnce) {
  ServeProcess serve(data_, tmp_);
  const std::map<std::string, std::string> faulty = {
      {"ONCEFLOW_FAULTS", "receiver_before_ack=crash@0.15"}};
  ASSERT_TRUE(serve.Start(faulty));
  int restarts = 0;
  RunResult p = ProduceThrough(&serve, Lines("e", 600, /*json=*/true),
                               {"--batch-records", "10", "--producer-id", "pipeline-test"}, faulty,
                               &restarts);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  std::printf("%d server crashes between fsync and ack\n", restarts);
  if (!serve.Poll()) serve.Kill();

  const std::string toml = tmp_ + "/events.toml";
  WriteWholeFile(toml, R"toml(name = "events"
batch_interval_ms = 20
max_records_per_partition = 50
[source]
type = "log"
topic = "events"
starting_offsets = "earliest"
format = "json"
[sink]
type = "sqlite"
path = "events.db"
init = ["CREATE TABLE IF NOT EXISTS events(id TEXT, n INTEGER)"]
mode = "statements"
statements = ["INSERT INTO events(id, n) VALUES(:id, :n)"]
)toml");
  RunResult run = Run({"run", toml, "--until-caught-up", "--data", data_});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> ids = SqliteRows(tmp_ + "/events.db", "SELECT id FROM events");
  std::set<std::string> expected;
  for (int i = 0; i < 600; ++i) expected.insert("e" + std::to_string(i));
  EXPECT_EQ(CheckExactlyOnce(ids, expected), "");
  EXPECT_EQ(ids.size(), 600u);
}

}  // namespace
}  // namespace onceflow::testing
