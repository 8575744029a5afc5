// The kill -9 loop for a Kafka -> Kafka pipeline against the real broker: `onceflow run` crashed
// at each sink fault point and SIGKILLed at random moments, restarted each time; then a
// read_committed consumer of the output must see every input record exactly once, and none of
// the aborted input. And the same with sink commits that fail and are retried inside the
// process, so that the Kafka source's streams read ranges again behind where they stand.
// Label `crash`.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "testing/kafka_pipeline_test_base.h"
#include "testing/kill_loop.h"

namespace onceflow::testing {
namespace {

constexpr int kCrashExitCode = 86;

class CliKafkaCrashTest : public KafkaPipelineTestBase {};

TEST_F(CliKafkaCrashTest, SinkFaultPointsAndSigkillsLeaveEveryResultExactlyOnce) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  Init(bootstrap);
  WriteToml(/*max_records_per_partition=*/15);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);

  // 1. A crash at each sink fault point, at its 1st to 4th hit.
  int crashes = 0;
  Produce(400);
  for (const char* point : {"mid_sink_write", "before_sink_commit", "after_sink_commit"}) {
    const int nth = std::uniform_int_distribution<int>(1, 4)(rng);
    RunResult r =
        RunPipeline({"--until-caught-up"},
                    {{"ONCEFLOW_FAULTS", std::string(point) + "=crash#" + std::to_string(nth)}});
    ASSERT_EQ(r.exit_code, kCrashExitCode) << point << "#" << nth << ":\n" << r.err;
    ++crashes;
  }

  // 2. SIGKILL at random moments (startup, recovery, mid-batch, mid-commit).
  constexpr int kKills = 10;
  // Start-up (connections, reading the progress markers, init_transactions) takes ~0.4 s, so
  // the delays cover it and the batches after it.
  int kills_mid_run = 0;
  const KillLoopResult loop = RunKillLoop(
      {.kills = kKills,
       .min_delay = std::chrono::milliseconds(100),
       .max_delay = std::chrono::milliseconds(1500),
       .seed = rng()},
      [&] {
        return std::make_unique<Process>(
            std::vector<std::string>{"run", toml_, "--until-caught-up", "--data", data_,
                                     "--progress-interval", "0.000001"},
            "/dev/null", TempPath("out"), TempPath("err"));
      },
      [&] { Produce(400); },  // it caught up first: give the next run work
      [&](int, Process& run) {
        // A progress line per committed batch: was this kill after the run's first commit?
        if (run.err().find(" batches, ") != std::string::npos) ++kills_mid_run;
      });
  if (HasFatalFailure()) return;
  const int kills = loop.kills, finished = loop.finished;

  // 3. A clean run catches up; the output holds every record exactly once.
  RunResult last = RunPipeline({"--until-caught-up"});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  std::printf("%d fault-point crashes, %d SIGKILLs (%d after the run's first commit), %d runs "
              "finished first, %d records\n",
              crashes, kills, kills_mid_run, finished, next_id_);
  EXPECT_EQ(CheckOutput(), "") << crashes << " crashes, " << kills << " kills";
}

// A failed sink commit is retried in the same process, and the retry computes the batch again:
// its tasks read their ranges again from the source's partition streams, which stand (and
// prefetch) past those ranges, so each such read seeks back (src/source/kafka_stream.h). Every
// record must still be in the output exactly once.
TEST_F(CliKafkaCrashTest, SinkCommitsRetriedInProcessReadTheirRangesAgainExactly) {
  ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
  Init(bootstrap);
  WriteToml(/*max_records_per_partition=*/15);
  int runs = 0, gave_up = 0;
  for (int round = 0; round < 3; ++round) {
    Produce(400);
    // A batch that fails max_batch_failures times stops the run (non-zero exit, nothing
    // committed past the last good batch): run again until one catches up.
    while (true) {
      ASSERT_LT(runs, 40) << "no run caught up";
      ++runs;
      RunResult r = RunPipeline(
          {"--until-caught-up"},
          {{"ONCEFLOW_FAULTS", "mid_sink_write=throw@0.2,before_sink_commit=throw@0.2"}});
      if (r.exit_code == 0) break;
      ASSERT_NE(r.exit_code, kCrashExitCode) << r.err;
      ASSERT_NE(r.err.find("retrying"), std::string::npos) << r.err;
      ++gave_up;
    }
  }
  RunResult last = RunPipeline({"--until-caught-up"});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  std::printf("%d runs with failing sink commits (%d gave up), %d records\n", runs, gave_up,
              next_id_);
  EXPECT_EQ(CheckOutput(), "");
}

}  // namespace
}  // namespace onceflow::testing
