// The ledger pipeline (examples/ledger.toml) Kafka -> PostgreSQL end to end, against a real broker
// and a real server of the test's own (so that it may restart them): `onceflow run` SIGKILLed at
// random moments, the broker restarted while a run is busy, the server restarted while a run is
// busy (both ridden out: the run ends by itself with 0); then every balance exact, ledger rows ==
// transfers, no duplicate id. Label crash-kafka.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "testing/cli_test_base.h"
#include "testing/hang_guard.h"
#include "testing/kafka.h"
#include "testing/ledger_postgres.h"
#include "testing/postgres.h"
#include "testing/service_script.h"
#include "util/file.h"

namespace onceflow::testing {
namespace {

using onceflow::testing::PgQuery;

// `scripts/services/kafka.sh ARGS`; its stdout's last line ("" on failure).
std::string KafkaScript(const std::string& args) {
  const std::string out = RunServiceScript("kafka.sh", args);
  const size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

// A broker of the test's own, stopped by the destructor.
class PrivateKafka {
 public:
  PrivateKafka() {
    char tmpl[] = "/tmp/onceflow-kafkatest-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    bootstrap_ = KafkaScript("start " + dir_);
  }
  ~PrivateKafka() {
    if (!dir_.empty()) {
      KafkaScript("stop " + dir_);
      RemoveAll(dir_).IgnoreError();
    }
  }
  PrivateKafka(const PrivateKafka&) = delete;
  PrivateKafka& operator=(const PrivateKafka&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }  // "": it did not start
  bool Restart() { return !KafkaScript("restart " + dir_).empty(); }

 private:
  std::string dir_, bootstrap_;
};

class CliKafkaPostgresTest : public CliTestBase {
 protected:
  // The ledger pipeline of examples/ledger.toml, from the broker's topic into the server.
  void WriteToml(const std::string& bootstrap, const std::string& conninfo) {
    toml_ = tmp_ + "/ledger.toml";
    WriteWholeFile(toml_, WithKafkaSource(LedgerPostgresToml(conninfo, 20), bootstrap));
  }

  // Appends `n` transfers with the next ids, spread over the topic's 3 partitions.
  void Produce(const std::string& bootstrap, int n, std::mt19937_64* rng) {
    auto producer = TestProducer::Make(bootstrap);
    ASSERT_TRUE(producer.has_value()) << producer.error().ToString();
    std::uniform_int_distribution<int64_t> account(1, 150), amount(1, 500);
    for (int i = 0; i < n; ++i) {
      Transfer t{static_cast<int64_t>(transfers_.size()), account(*rng), account(*rng),
                 amount(*rng)};
      const std::string v =
          "{\"id\":" + std::to_string(t.id) + ",\"from\":" + std::to_string(t.from) +
          ",\"to\":" + std::to_string(t.to) + ",\"amount\":" + std::to_string(t.amount) + "}";
      ASSERT_TRUE(producer->Send("transfers", static_cast<int32_t>(t.id % 3), v).ok());
      transfers_.push_back(t);
    }
    ASSERT_TRUE(producer->Flush().ok());
  }

  // "" when PostgreSQL holds every transfer exactly once with exact balances.
  std::string CheckLedger(const std::string& conninfo) {
    return CheckPostgresLedger(conninfo, transfers_);
  }

  int64_t LedgerRows(const std::string& conninfo) {
    std::string not_yet;  // no table before the first run creates it
    auto rows = PgQuery(conninfo, "SELECT count(*) FROM ledger", &not_yet);
    return rows.empty() ? 0 : std::stoll(rows[0]);
  }

  Process StartRun() {
    return Process({"run", toml_, "--until-caught-up", "--data", data_}, "/dev/null",
                   TempPath("out"), TempPath("err"));
  }

  // Runs `onceflow run --until-caught-up`, SIGKILLed after `delay` unless it ends first; returns
  // its exit code (-1: killed).
  int RunAndKill(std::chrono::milliseconds delay) {
    Process run = StartRun();
    const int code = run.KillAfter(delay);
    last_err_ = run.err();
    return code;
  }

  // Runs `onceflow run --until-caught-up`, calls `during` once the run has committed 100 more
  // ledger rows, and lets the run end by itself (within kHangGuard, or the test fails).
  int RunThrough(const std::string& conninfo, const std::function<void()>& during) {
    const int64_t base = LedgerRows(conninfo);
    Process run = StartRun();
    const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
    bool called = false;
    while (!run.Poll() && std::chrono::steady_clock::now() < deadline) {
      if (!called && LedgerRows(conninfo) > base + 100) {
        during();
        called = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!called) ADD_FAILURE() << "the run ended before `during` could run";
    const int code = run.Wait(std::chrono::milliseconds(0));  // still running: fails, killed
    last_err_ = run.err();
    return code;
  }

  std::string toml_, last_err_;
  std::vector<Transfer> transfers_;
};

TEST_F(CliKafkaPostgresTest, KillsABrokerRestartAndAServerRestartLeaveExactBalances) {
  // The shared services must exist for `make test` to have started anything; this test runs
  // its own broker and server so that it may restart them.
  ONCEFLOW_KAFKA_OR_SKIP(shared_bootstrap);
  ONCEFLOW_REQUIRE_POSTGRES();
  PrivateKafka broker;
  ASSERT_FALSE(broker.bootstrap().empty()) << "the private broker did not start";
  onceflow::testing::PrivatePostgres server;
  ASSERT_FALSE(server.conninfo().empty()) << "the private server did not start";
  ASSERT_TRUE(CreateTestTopic(broker.bootstrap(), "transfers", 3).ok());
  WriteToml(broker.bootstrap(), server.conninfo());
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  ASSERT_NO_FATAL_FAILURE(Produce(broker.bootstrap(), 3000, &rng));

  // 1. SIGKILLs at random moments.
  constexpr int kKills = 8;
  // A finished run (1000 more transfers) takes about 0.4 s on a quiet machine: most kills land.
  std::uniform_int_distribution<int> delay_ms(100, 900);
  int kills = 0, finished = 0;
  while (kills < kKills) {
    const int code = RunAndKill(std::chrono::milliseconds(delay_ms(rng)));
    if (code == -1) {
      ++kills;
      continue;
    }
    ASSERT_EQ(code, 0) << last_err_;
    ++finished;
    ASSERT_NO_FATAL_FAILURE(Produce(broker.bootstrap(), 1000, &rng));
  }

  // 2. The broker restarted while a run is busy: the run rides it out (planning waits for the
  // broker, a read in flight waits up to its timeout) and ends by itself.
  ASSERT_NO_FATAL_FAILURE(Produce(broker.bootstrap(), 2000, &rng));
  bool broker_restarted = false;
  int code = RunThrough(server.conninfo(), [&] { broker_restarted = broker.Restart(); });
  ASSERT_TRUE(broker_restarted);
  EXPECT_EQ(code, 0) << last_err_;
  std::printf(
      "run across the broker restart ended with %d%s\n", code,
      code == 0
          ? ""
          : (": ..." + last_err_.substr(last_err_.size() - std::min<size_t>(last_err_.size(), 600)))
                .c_str());

  // 3. The server restarted while a run is busy.
  ASSERT_NO_FATAL_FAILURE(Produce(broker.bootstrap(), 2000, &rng));
  bool server_restarted = false;
  code = RunThrough(server.conninfo(), [&] { server_restarted = server.Restart(); });
  ASSERT_TRUE(server_restarted);
  EXPECT_EQ(code, 0) << last_err_;
  std::printf(
      "run across the server restart ended with %d%s\n", code,
      code == 0
          ? ""
          : (": ..." + last_err_.substr(last_err_.size() - std::min<size_t>(last_err_.size(), 600)))
                .c_str());

  RunResult last = Run({"run", toml_, "--until-caught-up", "--data", data_});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  std::printf("%d SIGKILLs, %d runs finished first, %zu transfers\n", kills, finished,
              transfers_.size());
  EXPECT_EQ(CheckLedger(server.conninfo()), "");
  RunResult v = Run({"verify", toml_, "--data", data_});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace onceflow::testing
