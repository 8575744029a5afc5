// A Kafka -> Kafka pipeline through a restart of the broker itself: a private broker
// (scripts/services/kafka.sh, its own directory and port) is restarted while `onceflow run`
// works; runs that give up are started again. A read_committed consumer of the output must see
// every input record exactly once. Label `crash`: it costs a broker start (~8 s) and a restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "testing/hang_guard.h"
#include "testing/kafka_pipeline_test_base.h"

namespace onceflow::testing {
namespace {

const std::string kScript = std::string(ONCEFLOW_SOURCE_DIR) + "/scripts/services/kafka.sh";

class CliKafkaRestartTest : public KafkaPipelineTestBase {
 protected:
  void TearDown() override {
    if (!broker_dir_.empty()) {
      const std::string stop = "bash '" + kScript + "' stop '" + broker_dir_ + "' >/dev/null 2>&1";
      if (std::system(stop.c_str()) != 0) std::fprintf(stderr, "could not stop the broker\n");
    }
    KafkaPipelineTestBase::TearDown();
  }

  // Starts (or restarts) the private broker; returns its bootstrap address, "" on failure.
  std::string Broker(const char* verb) {
    const std::string out = tmp_ + "/bootstrap";
    const std::string cmd = "bash '" + kScript + "' " + verb + " '" + broker_dir_ + "' > '" + out +
                            "' 2> '" + tmp_ + "/broker.err'";
    if (std::system(cmd.c_str()) != 0) return "";
    std::string b = ReadWholeFile(out);
    while (!b.empty() && (b.back() == '\n' || b.back() == ' ')) b.pop_back();
    return b;
  }

  std::string broker_dir_;
};

TEST_F(CliKafkaRestartTest, ABrokerRestartMidRunLosesAndDoublesNothing) {
  // Runs where the shared test broker runs: the private one uses the same cached jars.
  ONCEFLOW_KAFKA_OR_SKIP(shared);
  broker_dir_ = tmp_ + "/broker";
  const std::string bootstrap = Broker("start");
  ASSERT_FALSE(bootstrap.empty()) << ReadWholeFile(tmp_ + "/broker.err");
  Init(bootstrap);
  WriteToml(/*max_records_per_partition=*/10);
  Produce(900);

  // The first run works for a while; then the broker goes down and comes back under it.
  Process run(
      {"run", toml_, "--until-caught-up", "--data", data_, "--progress-interval", "0.000001"},
      "/dev/null", TempPath("out"), TempPath("err"));
  // Mid-run: once it has committed batches (however long a busy machine takes to get there).
  const auto give_up = std::chrono::steady_clock::now() + kHangGuard;
  while (run.err().find(" batches, ") == std::string::npos && !run.Poll() &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(Broker("restart"), bootstrap) << ReadWholeFile(tmp_ + "/broker.err");
  // The run either rides the restart out or stops with an error; either way, runs are started
  // until one catches up (a run that hangs past two minutes is killed, like a crash).
  int runs = 1, failed = 0;
  auto finish = [&](Process& p) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    std::optional<int> code;
    while (!(code = p.Poll()) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!code) {
      p.Signal(SIGKILL);
      code = p.Wait();
    }
    return *code;
  };
  int code = finish(run);
  while (code != 0 && runs < 6) {
    ++failed;
    Process again({"run", toml_, "--until-caught-up", "--data", data_}, "/dev/null",
                  TempPath("out"), TempPath("err"));
    ++runs;
    code = finish(again);
    if (code != 0) std::printf("run %d: exit %d: %s\n", runs, code, again.err().c_str());
  }
  ASSERT_EQ(code, 0) << "no run caught up in " << runs << " runs";
  std::printf("%d runs (%d stopped by the broker restart), %d records\n", runs, failed, next_id_);
  EXPECT_EQ(CheckOutput(), "");
}

}  // namespace
}  // namespace onceflow::testing
