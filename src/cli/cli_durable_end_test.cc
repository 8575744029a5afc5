// Readers see only durable records, across processes: `onceflow produce` stopped between its
// group write and its fdatasync (fault action `stop`), while `consume`, `topics describe`,
// `status` and a pipeline `run` in other processes read the topic; then the producer is
// SIGKILLed and a writer restarts with the unsynced write kept (as the OS keeps it after a
// crash), or the power goes out in the producer (the simulated power loss of util/power_loss.h
// forgets every byte it had not synced) and new records take the lost offsets; either way the
// ledger holds exactly what is in the log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/hang_guard.h"
#include "testing/ledger_cli_test_base.h"
#include "testing/sqlite_query.h"
#include "testing/status_table.h"
#include "util/power_loss.h"

namespace onceflow::testing {
namespace {

class CliDurableEndTest : public LedgerCliTestBase {
 protected:
  // `n` transfers with ids `first`.., all paid by `from` (one partition), as produce input
  // lines `from,json`; added to `*out`.
  static std::string TransferLines(int n, int64_t first, int64_t from, uint64_t seed,
                                   std::vector<Transfer>* out) {
    std::mt19937_64 rng(seed);
    std::string lines;
    for (int i = 0; i < n; ++i) {
      Transfer t{first + i, from, static_cast<int64_t>(rng() % 50),
                 static_cast<int64_t>(rng() % 1000 + 1)};
      out->push_back(t);
      lines += std::to_string(t.from) + ",{\"id\":" + std::to_string(t.id) +
               ",\"from\":" + std::to_string(t.from) + ",\"to\":" + std::to_string(t.to) +
               ",\"amount\":" + std::to_string(t.amount) + "}\n";
    }
    return lines;
  }

  // Every segment file of the topic and its size.
  std::map<std::string, uintmax_t> SegmentSizes() {
    std::map<std::string, uintmax_t> sizes;
    for (const auto& e : std::filesystem::recursive_directory_iterator(data_ + "/topics")) {
      if (e.path().extension() == ".log") sizes[e.path().string()] = e.file_size();
    }
    return sizes;
  }

  // The ids `onceflow consume` prints, in its order.
  std::vector<int64_t> ConsumedIds() {
    RunResult r = Run({"consume", "transfers", "--data", data_});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<int64_t> ids;
    for (const std::string& line : SplitLines(r.out)) {
      const size_t at = line.find("\"id\":");
      EXPECT_NE(at, std::string::npos) << line;
      if (at != std::string::npos) ids.push_back(std::stoll(line.substr(at + 5)));
    }
    return ids;
  }

  // The ids of the ledger's rows, ascending.
  std::vector<int64_t> LedgerIds() {
    std::vector<int64_t> ids;
    for (const auto& row : SqliteInts(db_, "SELECT id FROM ledger ORDER BY id")) {
      ids.push_back(row[0]);
    }
    return ids;
  }

  static std::vector<int64_t> Ids(const std::vector<Transfer>& transfers) {
    std::vector<int64_t> ids;
    for (const Transfer& t : transfers) ids.push_back(t.id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // The scenario. `power_loss`: instead of a SIGKILL, the stopped producer loses power when it
  // is continued (fault action stop_power_loss): the unsynced group, and the published end
  // written after the previous sync, are forgotten as a power cut would forget them.
  void ProducerStoppedBeforeItsSync(bool power_loss) {
    WriteToml(50);
    Produce(200);
    RunResult first = RunVerb("run", {"--until-caught-up"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    ASSERT_EQ(CheckLedger(), "");

    // The producer writes its first group and stops before the fdatasync.
    std::vector<Transfer> unsynced;
    const std::string input = TempPath("in");
    WriteWholeFile(input, TransferLines(60, 200, 7, 11, &unsynced));
    const std::map<std::string, uintmax_t> before = SegmentSizes();
    Process producer({"produce", "transfers", "--data", data_, "--key-separator", ","}, input,
                     TempPath("out"), TempPath("err"),
                     {{"ONCEFLOW_FAULTS",
                       power_loss ? "log_before_sync=stop_power_loss" : "log_before_sync=stop"}});
    const auto give_up = std::chrono::steady_clock::now() + kHangGuard;
    while (producer.err().find("fault point log_before_sync: stopped") == std::string::npos ||
           !producer.Stopped()) {
      ASSERT_FALSE(producer.Poll().has_value()) << producer.err();
      ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "never stopped: " << producer.err();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // The write reached the files: a reader scanning them to their end would find it.
    uintmax_t grown = 0;
    for (const auto& [path, size] : SegmentSizes()) grown += size - before.at(path);
    ASSERT_GT(grown, 0U) << "the stopped group was written";

    // Readers in other processes see none of it.
    EXPECT_EQ(ConsumedIds().size(), 200U);
    EXPECT_EQ(DescribedTotal(), "200");
    RunResult during = RunVerb("run", {"--until-caught-up"});
    ASSERT_EQ(during.exit_code, 0) << during.err;
    EXPECT_EQ(LedgerIds(), Ids(transfers_)) << "no record of the unsynced write was committed";
    RunResult status = RunVerb("status");
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_EQ(ParseStatusTable(status.out)[-1].committed, 200) << status.out;
    EXPECT_EQ(ParseStatusTable(status.out)[-1].lag, 0) << status.out;

    if (power_loss) {
      producer.Signal(SIGCONT);
      EXPECT_EQ(producer.Wait(), power_loss::kExitCode) << producer.err();
      EXPECT_EQ(SegmentSizes(), before) << "the power loss took back the unsynced group";
    } else {
      producer.Signal(SIGKILL);
      producer.Wait();
    }

    // A writer restarts (recovery syncs what it keeps before publishing it) and appends more
    // (ids from 260: a lost record in the ledger would show); after a drop, these take the
    // offsets the lost records had.
    std::vector<Transfer> more;
    RunResult produced = Run({"produce", "transfers", "--data", data_, "--key-separator", ","},
                             TransferLines(20, 260, 7, 12, &more));
    ASSERT_EQ(produced.exit_code, 0) << produced.err;

    // What the log holds of the stopped producer's records: the group it wrote (a prefix of
    // its input) if the OS kept it, nothing if it was dropped.
    std::vector<int64_t> in_log = ConsumedIds();
    std::sort(in_log.begin(), in_log.end());
    size_t kept = 0;
    while (kept < unsynced.size() &&
           std::binary_search(in_log.begin(), in_log.end(), unsynced[kept].id)) {
      ++kept;
    }
    if (power_loss) {
      EXPECT_EQ(kept, 0U);
    } else {
      EXPECT_GT(kept, 0U);
    }
    transfers_.insert(transfers_.end(), unsynced.begin(), unsynced.begin() + kept);
    transfers_.insert(transfers_.end(), more.begin(), more.end());
    EXPECT_EQ(in_log, Ids(transfers_)) << "the log holds the first 200, " << kept
                                       << " of the stopped write, and the 20 after the restart";

    // The ledger holds exactly the records in the log: no phantom, no skip.
    ASSERT_NO_FATAL_FAILURE(RunToEndAndVerify());
    EXPECT_EQ(CheckLedger(), "");
    EXPECT_EQ(LedgerIds(), in_log);
  }

  // The record count of `topics describe`'s total line.
  std::string DescribedTotal() {
    RunResult r = Run({"topics", "describe", "transfers", "--data", data_});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const std::string& line : SplitLines(r.out)) {
      std::istringstream words(line);
      std::string first, records;
      if (words >> first >> records && first == "total") return records;
    }
    return "no total line in: " + r.out;
  }
};

TEST_F(CliDurableEndTest, UnsyncedWriteKeptByTheOsIsReadOnlyAfterTheWriterRestarts) {
  ProducerStoppedBeforeItsSync(/*power_loss=*/false);
}

TEST_F(CliDurableEndTest, UnsyncedWriteLostToAPowerLossWasNeverCommittedAndItsOffsetsAreReused) {
  ProducerStoppedBeforeItsSync(/*power_loss=*/true);
}

}  // namespace
}  // namespace onceflow::testing
