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

#include "receiver/http_client.h"
#include "testing/cli_test_base.h"
#include "testing/serve_process.h"
#include "testing/sqlite_query.h"
#include "testing/topic_read.h"

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
  std::mutex mu;
  std::set<std::string> acked;  // guarded by mu
  std::atomic<int> done{0}, errors{0}, duplicates{0};
  std::atomic<bool> enough{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      receiver::HttpProducerOptions o;
      o.url = serve.url();
      o.topic = "in";
      o.producer_id = "client-" + std::to_string(c);
      o.timeout = std::chrono::seconds(10);
      auto p = receiver::HttpProducer::Create(o);
      if (!p.has_value()) {
        ++errors;
        ++done;
        return;
      }
      for (int q = 0; !enough.load(); ++q) {
        std::vector<std::string> ids;
        for (int k = 0; k < kPerRequest; ++k) {
          ids.push_back("c" + std::to_string(c) + "-" + std::to_string(q * kPerRequest + k));
        }
        std::vector<std::string_view> views(ids.begin(), ids.end());
        auto ack = (*p)->Send(views);  // retries until acknowledged
        if (!ack.has_value()) {
          ++errors;
          break;
        }
        if (ack->duplicate) ++duplicates;
        std::lock_guard lock(mu);
        acked.insert(ids.begin(), ids.end());
      }
      ++done;
    });
  }

  // Half the restarts also crash at the fault point between fsync and ack now and then.
  int kills = 0, injected = 0;
  while (done.load() < kClients) {
    const auto kill_at =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(rng));
    while (!serve.Poll() && done.load() < kClients && std::chrono::steady_clock::now() < kill_at) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (done.load() == kClients) break;
    if (serve.Poll()) {
      ++injected;
    } else if (kills < kKills) {
      serve.Kill();
      if (++kills == kKills) enough.store(true);
    } else {
      continue;  // enough kills: let the clients finish
    }
    std::map<std::string, std::string> env;
    if ((kills + injected) % 2 == 1) env["ONCEFLOW_FAULTS"] = "receiver_before_ack=crash@0.05";
    ASSERT_TRUE(serve.Start(env));
  }
  for (auto& t : clients) t.join();
  if (!serve.Poll()) serve.Kill();
  std::printf("%d SIGKILLs, %d crashes between fsync and ack, %d repeats answered as "
              "duplicates, %zu records acknowledged\n",
              kills, injected, duplicates.load(), acked.size());
  ASSERT_EQ(errors.load(), 0);
  EXPECT_EQ(kills, kKills);
  std::vector<std::string> stored = TopicValues(data_, "in");
  EXPECT_EQ(CheckExactlyOnce(stored, acked), "");
  EXPECT_EQ(stored.size(), acked.size());  // nothing unacknowledged, nothing twice
}

}  // namespace
}  // namespace onceflow::testing
