// The receiver under kill -9: `onceflow serve` SIGKILLed at random moments (and crashing at the
// fault point between the fsync and the acknowledgement) while several clients send records
// with unique ids and retry each request until acknowledged. Afterwards every acknowledged
// record is in the log exactly once and no record is there twice. Label `crash`.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "retrying_clients.h"
#include "testing/cli_test_base.h"
#include "testing/serve_process.h"
#include "testing/sqlite_query.h"
#include "testing/topic_read.h"
#include "util/fault_points.h"

namespace onceflow::testing {
namespace {

class CliReceiverCrashTest : public CliTestBase {};

TEST_F(CliReceiverCrashTest, SigkillsUnderLoadLoseNoAckedRecordAndDuplicateNone) {
  // The clients send until the server has been killed kKills times (whatever the machine's
  // speed), then finish their current request.
  constexpr int kClients = 4, kPerRequest = 5, kKills = 12;
  ASSERT_EQ(RunData({"topics", "create", "in", "-p", "2"}).exit_code, 0);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> delay_ms(20, 300);

  ServeProcess serve(data_, tmp_);
  ASSERT_TRUE(serve.Start());
  RetryingClients clients(serve.url(), "in", kClients, kPerRequest);

  // Half the restarts also crash at the fault point between fsync and ack now and then; such a
  // crash may come before the server has printed that it listens (it serves first).
  int kills = 0, injected = 0, before_line = 0;
  while (!clients.AllDone()) {
    const auto kill_at =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(rng));
    while (!serve.Poll() && !clients.AllDone() && std::chrono::steady_clock::now() < kill_at) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (clients.AllDone()) break;
    if (serve.Poll()) {
      // Only the armed fault may end the server.
      ASSERT_EQ(*serve.Poll(), faults::kCrashExitCode) << serve.Describe();
      ASSERT_NE(serve.err().find("fault point receiver_before_ack: crash"), std::string::npos)
          << serve.Describe();
      ++injected;
    } else if (kills < kKills) {
      serve.Kill();
      if (++kills == kKills) clients.StopAfterCurrent();
    } else {
      continue;  // enough kills: let the clients finish
    }
    std::map<std::string, std::string> env;
    if ((kills + injected) % 2 == 1) env["ONCEFLOW_FAULTS"] = "receiver_before_ack=crash@0.05";
    if (env.empty()) {
      ASSERT_TRUE(serve.Start(env));
    } else {
      if (!serve.StartMayExit(env)) ++before_line;  // the exit is checked at the loop's top
      ASSERT_FALSE(HasFailure());
    }
  }
  clients.Finish();
  if (!serve.Poll()) serve.Kill();
  std::printf("%d SIGKILLs, %d crashes between fsync and ack (%d before serve said it "
              "listens), %d repeats answered as duplicates, %zu records acknowledged\n",
              kills, injected, before_line, clients.duplicates(), clients.acked().size());
  ASSERT_EQ(clients.errors(), 0) << clients.first_error() << "\n" << serve.Describe();
  EXPECT_EQ(kills, kKills);
  std::vector<std::string> stored = TopicValues(data_, "in");
  EXPECT_EQ(CheckExactlyOnce(stored, clients.acked()), "");
  EXPECT_EQ(stored.size(), clients.acked().size());  // nothing unacknowledged, nothing twice
}

}  // namespace
}  // namespace onceflow::testing
