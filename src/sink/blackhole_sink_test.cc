// The blackhole sink: the progress-row contract every sink keeps (sink_contract_test.h), and
// its own file: rows counted exactly once, a damaged file refused naming it.
#include "sink/blackhole_sink.h"

#include "sink/sink_contract_test.h"
#include "testing/temp_dir.h"
#include "util/file.h"

namespace onceflow::sink::testing {
namespace {

class BlackholeContractEnv {
 public:
  void SetUp() {
    dir_ = std::make_unique<::onceflow::testing::TempDir>("blackhole-contract");
    ASSERT_FALSE(dir_->path().empty());
  }
  void TearDown() { dir_.reset(); }

  std::unique_ptr<Sink> OpenSink() {
    return OpenedOrFail(std::unique_ptr<Sink>(std::make_unique<BlackholeSink>(dir_->path())));
  }
  std::string Pipeline(const std::string& name) { return name; }
  // A row as written without starts ("?") or source.
  void WriteOldProgress(const std::string& pipeline, int32_t task, int64_t batch, int64_t epoch,
                        const std::string& ranges) {
    const std::string path = BlackholeProgressPath(dir_->path());
    std::string text =
        PathExists(path) ? *ReadFileToString(path) : std::string("onceflow blackhole progress 1\n");
    text += "task " + pipeline + " " + std::to_string(task) + " " + std::to_string(batch) + " " +
            std::to_string(epoch) + " " + ranges + " ?" +
            (text.starts_with("onceflow blackhole progress 1\n") ? "\n" : " -\n");
    ASSERT_TRUE(WriteFileAtomically(path, text).ok());
  }

  std::unique_ptr<::onceflow::testing::TempDir> dir_;
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Blackhole, SinkContractTest, BlackholeContractEnv);
}  // namespace contract

namespace {

TEST(BlackholeSinkTest, RowsAreCountedOncePerCommittedBatch) {
  ::onceflow::testing::TempDir dir("blackhole");
  BlackholeSink sink(dir.path());
  ASSERT_TRUE(sink.Open().ok());
  std::vector<SinkRow> rows(5);
  TaskCommit t = Task("p", 0, 0, /*epoch=*/1, {{PartitionId(0), Offset(0), Offset(5)}}, rows);
  t.source = "nexmark generator 'bid' (model=1 kind=bid)";
  auto first = sink.Commit({&t, 1});
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(first->at(0), CommitOutcome::kCommitted);
  auto again = sink.Commit({&t, 1});  // a retry: already committed, not counted twice
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->at(0), CommitOutcome::kAlreadyCommitted);
  BlackholeSink reopened(dir.path());
  auto state = reopened.ReadState();
  ASSERT_TRUE(state.has_value()) << state.error().ToString();
  EXPECT_EQ(state->at("p").rows, 5);
  EXPECT_EQ(state->at("p").progress.at(0).source, t.source);
  EXPECT_EQ(*ReadFileToString(reopened.path()),
            "onceflow blackhole progress 2\nrows p 5 0\n"
            "task p 0 0 1 0:0-5 0:0 - nexmark generator 'bid' (model=1 kind=bid)\n");
}

TEST(BlackholeSinkTest, ADamagedFileIsRefusedNamingIt) {
  ::onceflow::testing::TempDir dir("blackhole");
  BlackholeSink sink(dir.path());
  ASSERT_TRUE(WriteFileAtomically(sink.path(), "onceflow blackhole progress 1\nrows p x 0\n").ok());
  Status s = sink.Open();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(s.message(), sink.path() + ": line 2: bad row or dead letter count");
}

}  // namespace
}  // namespace onceflow::sink::testing
