// The kill -9 loop on Nexmark pipelines: `onceflow run` of the generator's bids into SQLite
// (every field of every bid) and into the blackhole sink, SIGKILLed at random moments, the
// generator extended by more events whenever a run finishes first, `verify` clean after every
// kill; then the output equals the bids generated directly, exactly. Label `crash`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "checkpoint/checkpoint.h"
#include "sink/blackhole_sink.h"
#include "source/nexmark_model.h"
#include "testing/cli_test_base.h"
#include "testing/kill_loop.h"
#include "testing/sqlite_query.h"

namespace onceflow::testing {
namespace {

constexpr int kKills = 10;
constexpr int64_t kFirstEvents = 200'000;
constexpr int64_t kMoreEvents = 50'000;

using Rows = std::vector<std::vector<std::string>>;

class CliNexmarkCrashTest : public CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    toml_ = tmp_ + "/bids.toml";
    db_ = tmp_ + "/bids.db";
  }

  void WriteToml(const std::string& sink, int64_t events) {
    const std::string sink_table =
        sink == "blackhole"
            ? "type = \"blackhole\"\n"
            : "type = \"sqlite\"\npath = \"" + db_ +
                  "\"\ninit = [\"CREATE TABLE IF NOT EXISTS bid(auction INTEGER, bidder INTEGER, "
                  "price INTEGER, channel TEXT, url TEXT, date_time INTEGER, extra TEXT)\"]\n"
                  "table = \"bid\"\n";
    WriteWholeFile(toml_, "name = \"nexmark-bids\"\nbatch_interval_ms = 1\n"
                          "max_records_per_partition = 2000\n\n[source]\ntype = \"nexmark\"\n"
                          "events = " +
                              std::to_string(events) +
                              "\npartitions = 4\nkind = \"bid\"\n\n[sink]\n" + sink_table);
  }

  // Kills `onceflow run` kKills times; each run that finishes first gets kMoreEvents more.
  // Returns the events of the generator at the end.
  int64_t KillLoop(const std::string& sink) {
    int64_t events = kFirstEvents;
    WriteToml(sink, events);
    // A generator needs no topic, so nothing else makes the data directory: a run killed
    // before it makes it leaves none for `verify`.
    std::filesystem::create_directories(data_);
    const uint64_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    const KillLoopResult loop = RunKillLoop(
        {.kills = kKills, .seed = seed},
        [&] {
          return std::make_unique<Process>(
              std::vector<std::string>{"run", toml_, "--until-caught-up", "--data", data_},
              "/dev/null", TempPath("out"), TempPath("err"));
        },
        [&] {
          events += kMoreEvents;
          WriteToml(sink, events);
        },
        [&](int kill, Process&) {
          RunResult v = Run({"verify", toml_, "--data", data_});
          ASSERT_EQ(v.exit_code, 0) << "after kill " << kill << ":\n" << v.out << v.err;
        });
    if (HasFatalFailure()) return events;
    std::printf("%d SIGKILLs, %d runs finished before their kill; %lld events\n", loop.kills,
                loop.finished, static_cast<long long>(events));
    RunResult last = Run({"run", toml_, "--until-caught-up", "--data", data_});
    EXPECT_EQ(last.exit_code, 0) << last.err;
    RunResult v = Run({"verify", toml_, "--data", data_});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    return events;
  }

  std::string toml_, db_;
};

TEST_F(CliNexmarkCrashTest, BidsIntoSqliteAreExactAfterSigkills) {
  const int64_t events = KillLoop("sqlite");
  if (HasFatalFailure()) return;
  NexmarkSourceOptions options;
  options.events = events;
  options.partitions = 4;
  Rows expected;
  source::nexmark::Event e;
  for (int64_t j = 0; j < source::nexmark::CountOf(NexmarkKind::kBid, events); ++j) {
    source::nexmark::Generate(options, source::nexmark::EventNumberOf(NexmarkKind::kBid, j), &e);
    expected.push_back({std::to_string(e.auction), std::to_string(e.bidder),
                        std::to_string(e.price), std::string(e.channel), std::string(e.url),
                        std::to_string(e.date_time), std::string(e.extra)});
  }
  std::sort(expected.begin(), expected.end());
  Rows rows =
      SqliteTextRows(db_, "SELECT auction, bidder, price, channel, url, date_time, extra FROM bid");
  std::sort(rows.begin(), rows.end());
  ASSERT_EQ(rows.size(), expected.size());
  EXPECT_TRUE(rows == expected) << "the committed bids differ from the generated ones";
}

TEST_F(CliNexmarkCrashTest, TheBlackholeCountsEveryBidOnceAfterSigkills) {
  const int64_t events = KillLoop("blackhole");
  if (HasFatalFailure()) return;
  sink::BlackholeSink sink(checkpoint::CheckpointDir(data_, "nexmark-bids"));
  auto state = sink.ReadState();
  ASSERT_TRUE(state.has_value()) << state.error().ToString();
  EXPECT_EQ(state->at("nexmark-bids").rows, source::nexmark::CountOf(NexmarkKind::kBid, events));
}

}  // namespace
}  // namespace onceflow::testing
