// The state store under simulated power loss, through the RocksDB file system wrapper
// (tracked_file_system.h): a commit that returned survives, a commit in flight is there whole or
// not at all, for WriteBatch commits and for ingested commit files. Each run is a forked child
// (RocksDB's thread pools must not exist in the parent before a fork); its own binary, since
// power-loss tracking stays on in a process once started.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "state/state_format.h"
#include "state/state_store.h"
#include "testing/fork_child.h"
#include "testing/temp_dir.h"
#include "util/fault_points.h"
#include "util/power_loss.h"

namespace onceflow::state {
namespace {

using ::onceflow::testing::InChild;

constexpr int kTasks = 2;
constexpr int kBatches = 5;
constexpr int kKeysPerTask = 8;

// Appends a line to `path` past the tracker (never forgotten).
void AppendLine(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const std::string line = text + "\n";
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, f) != nullptr) {
      std::string s(buf);
      if (!s.empty() && s.back() == '\n') s.pop_back();
      out.push_back(s);
    }
    std::fclose(f);
  }
  return out;
}

// Batch b: every key k0..k7 of each task set to "b", the key added<b> created, and the key
// added<b-2> deleted: after batch L the state is fully determined by L.
std::vector<StateDelta> DeltasOf(int b) {
  std::vector<StateDelta> deltas;
  for (int t = 0; t < kTasks; ++t) {
    StateDelta d;
    d.task = t;
    for (int i = 0; i < kKeysPerTask; ++i) {
      d.writes.emplace_back(DataKey(0, t, "k" + std::to_string(i)), std::to_string(b));
    }
    d.writes.emplace_back(DataKey(0, t, "added" + std::to_string(b)), std::to_string(b));
    if (b >= 2) d.writes.emplace_back(DataKey(0, t, "added" + std::to_string(b - 2)), std::nullopt);
    std::sort(d.writes.begin(), d.writes.end());
    deltas.push_back(std::move(d));
  }
  return deltas;
}

// "" if `store` holds exactly the state after its batch, else what is wrong.
std::string CheckState(const StateStore& store) {
  const int last = static_cast<int>(store.batch().value());
  for (int t = 0; t < kTasks; ++t) {
    for (int i = 0; i < kKeysPerTask; ++i) {
      auto v = store.Get(DataKey(0, t, "k" + std::to_string(i)));
      if (!v.has_value()) return v.error().ToString();
      const std::string want = last < 0 ? "<none>" : std::to_string(last);
      if (v->value_or("<none>") != want) {
        return "task " + std::to_string(t) + " k" + std::to_string(i) + " is " +
               v->value_or("<none>") + " at batch " + std::to_string(last);
      }
    }
    for (int b = 0; b < kBatches; ++b) {
      auto v = store.Get(DataKey(0, t, "added" + std::to_string(b)));
      if (!v.has_value()) return v.error().ToString();
      const bool want = b <= last && b >= last - 1;
      if (v->has_value() != want) {
        return "task " + std::to_string(t) + " added" + std::to_string(b) +
               (want ? " missing" : " present") + " at batch " + std::to_string(last);
      }
    }
  }
  return "";
}

class StatePowerLossTest : public ::testing::TestWithParam<bool> {
 protected:
  // The runs' directory is in /dev/shm when there is one: the power loss is simulated, so the
  // disk's real fsyncs would only cost time (a third of this test's).
  void SetUp() override {
    char shm[] = "/dev/shm/onceflow-state-power-loss-XXXXXX";
    if (::mkdtemp(shm) != nullptr) {
      base_ = shm;
    } else {
      tmp_ = std::make_unique<::onceflow::testing::TempDir>("state-power-loss");
      ASSERT_FALSE(tmp_->path().empty());
      base_ = tmp_->path();
    }
  }
  void TearDown() override {
    if (tmp_ == nullptr) std::filesystem::remove_all(base_);
    tmp_.reset();
  }

  // In a child: arms `spec`, opens the store at `dir` (every commit an ingested file if the
  // test's parameter says so) and commits batches 0..kBatches-1, acknowledging each in `acks`.
  int CommitInChild(const std::string& dir, const std::string& spec, const std::string& acks) {
    return InChild([&] {
      if (GetParam()) ::setenv("ONCEFLOW_STATE_INGEST_MIN_WRITES", "1", 1);
      if (!faults::Arm(spec).ok()) return 3;
      auto store = StateStore::Open(dir, kTasks, /*cache_bytes=*/0);
      if (!store.has_value()) return 4;
      for (int b = 0; b < kBatches; ++b) {
        std::vector<StateDelta> deltas = DeltasOf(b);
        if (!(*store)->Commit(BatchId(b), deltas, std::nullopt).ok()) return 5;
        AppendLine(acks, std::to_string(b));
      }
      if (GetParam() && (*store)->ingested_commits() != kBatches) return 6;
      return 0;
    });
  }

  // Reopens the store in a child (no faults, no tracking) and checks it: "" if the store is at a
  // batch between the last acknowledged one and the next, holding exactly that batch's state.
  std::string Check(const std::string& dir, const std::string& acks) {
    const std::vector<std::string> acked = Lines(acks);
    const int acknowledged = acked.empty() ? -1 : std::stoi(acked.back());
    const std::string report = dir + ".report";
    const int code = InChild([&] {
      auto store = StateStore::Open(dir, kTasks, /*cache_bytes=*/0);
      if (!store.has_value()) {
        AppendLine(report, "cannot reopen: " + store.error().ToString());
        return 0;
      }
      const int last = static_cast<int>((*store)->batch().value());
      if (last < acknowledged || last > acknowledged + 1) {
        AppendLine(report, "state at batch " + std::to_string(last) + ", acknowledged " +
                               std::to_string(acknowledged));
      }
      AppendLine(report, CheckState(**store));
      return 0;
    });
    if (code != 0) return "the checking child exited " + std::to_string(code);
    std::string out;
    for (const std::string& line : Lines(report)) out += line;
    return out;
  }

  // Power loss at the k-th hit of `point` for k = 1, 2, ... until a run ends before it.
  int PowerLossAtEvery(const std::string& point) {
    int losses = 0;
    for (int k = 1;; ++k) {
      SCOPED_TRACE(point + "=power_loss#" + std::to_string(k));
      const std::string dir = base_ + "/" + point + "-" + std::to_string(k);
      const std::string acks = dir + ".acks";
      const int code = CommitInChild(dir, point + "=power_loss#" + std::to_string(k), acks);
      EXPECT_TRUE(code == 0 || code == power_loss::kExitCode) << "exit " << code;
      EXPECT_EQ(Check(dir, acks), "");
      if (code != power_loss::kExitCode || k >= 2000) break;
      ++losses;
    }
    return losses;
  }

  std::string base_;
  std::unique_ptr<::onceflow::testing::TempDir> tmp_;  // only if /dev/shm is not there
};

TEST_P(StatePowerLossTest, CommittedBatchesSurviveAPowerLossAtEveryWrite) {
  EXPECT_GT(PowerLossAtEvery("file_write"), kBatches);
}

TEST_P(StatePowerLossTest, CommittedBatchesSurviveAPowerLossAtEverySync) {
  EXPECT_GE(PowerLossAtEvery("file_sync"), kBatches);
}

TEST_P(StatePowerLossTest, CommittedBatchesSurviveAPowerLossAtEveryRename) {
  EXPECT_GE(PowerLossAtEvery("file_rename"), 1);
}

// eio and enospc at the k-th write or sync of the commits reach RocksDB: that commit fails (and
// RocksDB refuses writes until it is reopened), none is reported done that is not, and the store
// reopens at the last commit that returned or, since the failed one's write may have reached the
// file, at that one, whole.
TEST_P(StatePowerLossTest, InjectedEioAndEnospcFailTheCommitAndTheStoreReopensWhole) {
  int k = 0;
  for (const std::string spec : {"file_sync=eio", "file_write=eio", "file_write=enospc"}) {
    for (const int n : {1, 3}) {
      SCOPED_TRACE(spec + "#" + std::to_string(n));
      const std::string dir = base_ + "/io-" + std::to_string(++k);
      const std::string acks = dir + ".acks";
      const int code = InChild([&] {
        if (GetParam()) ::setenv("ONCEFLOW_STATE_INGEST_MIN_WRITES", "1", 1);
        power_loss::Enable();  // the tracked file system, without a power loss
        auto store = StateStore::Open(dir, kTasks, /*cache_bytes=*/0);
        if (!store.has_value()) return 4;
        if (!faults::Arm(spec + "#" + std::to_string(n)).ok()) return 3;
        for (int b = 0; b < kBatches; ++b) {
          std::vector<StateDelta> deltas = DeltasOf(b);
          if (!(*store)->Commit(BatchId(b), deltas, std::nullopt).ok()) return 10 + b;
          AppendLine(acks, std::to_string(b));
        }
        return 0;
      });
      // An ingested commit may take a file write or sync for its own file, which falls back to a
      // WriteBatch: then no commit fails.
      EXPECT_TRUE(code >= 10 || (GetParam() && code == 0)) << "exit " << code;
      EXPECT_EQ(Check(dir, acks), "");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Commits, StatePowerLossTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Ingested" : "WriteBatch"; });

}  // namespace
}  // namespace onceflow::state
