// End-to-end tests of the `onceflow` command: topics, produce, consume, errors, corruption,
// help and the demo, each against the built binary in a fresh data directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "log/topic.h"
#include "testing/cli_test_base.h"

namespace onceflow::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// One line of `consume --print-offsets`: "partition:offset value".
struct ConsumedLine {
  int partition = -1;
  int64_t offset = -1;
  std::string value;
};

ConsumedLine ParseOffsetLine(const std::string& line) {
  ConsumedLine c;
  const size_t colon = line.find(':');
  const size_t space = line.find(' ');
  EXPECT_NE(colon, std::string::npos) << line;
  EXPECT_NE(space, std::string::npos) << line;
  if (colon == std::string::npos || space == std::string::npos) return c;
  std::from_chars(line.data(), line.data() + colon, c.partition);
  std::from_chars(line.data() + colon + 1, line.data() + space, c.offset);
  c.value = line.substr(space + 1);
  return c;
}

// The partition Kafka's default partitioner picks for `key`.
int KafkaPartition(std::string_view key, int partitions) {
  return static_cast<int>((log::Murmur2(key) & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

class CliTest : public CliTestBase {
 protected:
  void CreateTopic(const std::string& name, int partitions, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"topics", "create", name, "--partitions",
                                     std::to_string(partitions)};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = RunData(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Produces 1000 lines "user<i % 37>,value-<i>" and returns, per partition, the values Kafka's
  // partitioner puts there, in input order.
  std::vector<std::vector<std::string>> ProduceKeyed(const std::string& topic, int partitions) {
    std::string input;
    std::vector<std::vector<std::string>> expected(static_cast<size_t>(partitions));
    for (int i = 0; i < 1000; ++i) {
      const std::string key = "user" + std::to_string(i % 37);
      const std::string value = "value-" + std::to_string(i);
      input += key + "," + value + "\n";
      expected[static_cast<size_t>(KafkaPartition(key, partitions))].push_back(value);
    }
    RunResult r = RunData({"produce", topic, "--key-separator", ","}, input);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("produced 1000 records to topic '" + topic + "'"));
    return expected;
  }
};

TEST_F(CliTest, CreateListDescribe) {
  CreateTopic("orders", 3, {"--segment-bytes", "1048576", "--durability", "none"});
  CreateTopic("clicks", 1);
  RunResult list = RunData({"topics", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out, "clicks\norders\n");

  RunResult d = RunData({"topics", "describe", "orders"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_THAT(d.out, HasSubstr("partitions: 3\n"));
  EXPECT_THAT(d.out, HasSubstr("durability: none\n"));
  EXPECT_THAT(d.out, HasSubstr("segments:   1048576 bytes\n"));
  EXPECT_THAT(d.out, HasSubstr("PARTITION"));
  // One row per partition, all empty, and a total row.
  for (int p = 0; p < 3; ++p) {
    std::istringstream row(SplitLines(d.out).at(8 + static_cast<size_t>(p)));
    std::string partition;
    int64_t earliest = -1, end = -1, records = -1;
    row >> partition >> earliest >> end >> records;
    EXPECT_EQ(partition, std::to_string(p));
    EXPECT_EQ(earliest, 0);
    EXPECT_EQ(end, 0);
    EXPECT_EQ(records, 0);
  }
  EXPECT_THAT(SplitLines(d.out).at(11), HasSubstr("total"));
}

TEST_F(CliTest, CreateRefusesExistingTopicAndBadName) {
  CreateTopic("t", 2);
  RunResult again = RunData({"topics", "create", "t"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "onceflow: error: topic 't' already exists\n");
  RunResult bad = RunData({"topics", "create", "no/slash"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("onceflow: error: invalid topic name 'no/slash'"));
  RunResult zero = RunData({"topics", "create", "z", "--partitions", "0"});
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_THAT(zero.err, HasSubstr("partitions must be between 1 and"));
}

TEST_F(CliTest, KeyedRecordsLandOnTheirKeysPartitionInInputOrder) {
  CreateTopic("events", 4);
  auto expected = ProduceKeyed("events", 4);

  RunResult c = RunData({"consume", "events", "--print-offsets"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::vector<std::vector<std::string>> got(4);
  int last_partition = 0;
  for (const std::string& line : SplitLines(c.out)) {
    ConsumedLine l = ParseOffsetLine(line);
    ASSERT_GE(l.partition, last_partition) << "partitions are read in order";
    last_partition = l.partition;
    auto& values = got.at(static_cast<size_t>(l.partition));
    ASSERT_EQ(l.offset, static_cast<int64_t>(values.size())) << "offsets contiguous from 0";
    values.push_back(l.value);
  }
  for (size_t p = 0; p < 4; ++p) EXPECT_EQ(got[p], expected[p]) << "partition " << p;

  // The same key always lands on the same partition.
  RunResult k = RunData({"consume", "events", "--print-offsets", "--print-keys"});
  ASSERT_EQ(k.exit_code, 0) << k.err;
  std::map<std::string, int> partition_of_key;
  for (const std::string& line : SplitLines(k.out)) {
    ConsumedLine l = ParseOffsetLine(line);
    // "user<i % 37>\tvalue-<i>": the key printed is the key produced with that value.
    const size_t tab = l.value.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    const std::string key = l.value.substr(0, tab);
    const int i = std::stoi(l.value.substr(l.value.find('-') + 1));
    EXPECT_EQ(key, "user" + std::to_string(i % 37));
    EXPECT_EQ(l.value.substr(tab + 1), "value-" + std::to_string(i));
    auto [it, inserted] = partition_of_key.emplace(key, l.partition);
    EXPECT_EQ(it->second, l.partition) << key;
  }
  EXPECT_EQ(partition_of_key.size(), 37u);

  // describe agrees with what was consumed.
  RunResult d = RunData({"topics", "describe", "events"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  for (size_t p = 0; p < 4; ++p) {
    std::istringstream row(SplitLines(d.out).at(8 + p));
    std::string partition;
    int64_t earliest = -1, end = -1;
    row >> partition >> earliest >> end;
    EXPECT_EQ(end, static_cast<int64_t>(expected[p].size()));
  }
  std::istringstream total(SplitLines(d.out).at(12));
  std::string word;
  int64_t records = 0;
  total >> word >> records;
  EXPECT_EQ(word, "total");
  EXPECT_EQ(records, 1000);
}

TEST_F(CliTest, RecordsWithoutKeyAreSpreadRoundRobinKeepingOrder) {
  CreateTopic("plain", 4);
  std::string input;
  for (int i = 0; i < 1000; ++i) input += std::to_string(i) + "\n";
  RunResult r = RunData({"produce", "plain", "--batch-records", "100"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RunResult c = RunData({"consume", "plain", "--print-offsets", "--print-keys"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::vector<std::vector<int>> got(4);
  std::set<int> all;
  for (const std::string& line : SplitLines(c.out)) {
    ConsumedLine l = ParseOffsetLine(line);
    int v = std::stoi(l.value);  // no key printed: records without a key
    EXPECT_EQ(std::to_string(v), l.value);
    got.at(static_cast<size_t>(l.partition)).push_back(v);
    all.insert(v);
  }
  EXPECT_EQ(all.size(), 1000u);
  for (size_t p = 0; p < 4; ++p) {
    EXPECT_FALSE(got[p].empty()) << "partition " << p << " got no records";
    EXPECT_TRUE(std::is_sorted(got[p].begin(), got[p].end())) << "partition " << p;
  }
}

TEST_F(CliTest, LineEndingsAndEmptyLines) {
  CreateTopic("lines", 1);
  RunResult r = RunData({"produce", "lines", "-k", "=>"}, "a=>1\r\nb\r\n\r\n=>empty key\nlast");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("produced 5 records"));
  RunResult c = RunData({"consume", "lines", "--print-keys", "-k", "=>"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "a=>1\nb\n\n=>empty key\nlast\n");
}

TEST_F(CliTest, LineLongerThanTheReadBuffer) {
  CreateTopic("big", 1);
  const std::string value(5u << 20, 'v');
  RunResult r = RunData({"produce", "big"}, "small\n" + value + "\nafter\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RunResult c = RunData({"consume", "big"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_TRUE(c.out == "small\n" + value + "\nafter\n");
}

TEST_F(CliTest, MaxStopsAfterNRecords) {
  CreateTopic("events", 4);
  auto expected = ProduceKeyed("events", 4);
  RunResult c = RunData({"consume", "events", "--max", "10"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::vector<std::string> first10(expected[0].begin(), expected[0].begin() + 10);
  EXPECT_EQ(SplitLines(c.out), first10);
  RunResult none = RunData({"consume", "events", "--max", "0"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "");
}

TEST_F(CliTest, OffsetStartsOnePartitionThere) {
  CreateTopic("events", 4);
  auto expected = ProduceKeyed("events", 4);
  RunResult c =
      RunData({"consume", "events", "--partition", "1", "--offset", "5", "--print-offsets"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::vector<std::string> lines = SplitLines(c.out);
  ASSERT_EQ(lines.size(), expected[1].size() - 5);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i], "1:" + std::to_string(5 + i) + " " + expected[1][5 + i]);
  }
  // Past the end: nothing, and success.
  RunResult past = RunData({"consume", "events", "-p", "1", "-o", "100000"});
  EXPECT_EQ(past.exit_code, 0) << past.err;
  EXPECT_EQ(past.out, "");
}

TEST_F(CliTest, OffsetWithoutPartitionIsAUsageError) {
  CreateTopic("events", 2);
  RunResult c = RunData({"consume", "events", "--offset", "3"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_THAT(c.err, HasSubstr("onceflow: error: --offset requires --partition"));
  RunResult none = Run({});
  EXPECT_EQ(none.exit_code, 2);
  RunResult unknown = RunData({"consume", "events", "--bogus"});
  EXPECT_EQ(unknown.exit_code, 2);
}

TEST_F(CliTest, UnknownTopicIsAnErrorNamingIt) {
  CreateTopic("exists", 1);
  for (auto args : std::vector<std::vector<std::string>>{
           {"consume", "nope"}, {"produce", "nope"}, {"topics", "describe", "nope"}}) {
    RunResult r = RunData(args, "x\n");
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_THAT(r.err, HasSubstr("onceflow: error: unknown topic 'nope'")) << args[0];
    EXPECT_EQ(r.out, "");
  }
  EXPECT_FALSE(std::filesystem::exists(data_ + "/topics/nope")) << "nothing is created";
}

TEST_F(CliTest, BadPartitionNamesThePartitionCount) {
  CreateTopic("events", 4);
  RunResult r = RunData({"consume", "events", "--partition", "4"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "onceflow: error: topic 'events' has 4 partition(s): there is no partition 4\n");
  RunResult neg = RunData({"consume", "events", "--partition", "-1"});
  EXPECT_EQ(neg.exit_code, 1);
  EXPECT_THAT(neg.err, HasSubstr("has 4 partition(s)"));
}

TEST_F(CliTest, CorruptedSealedSegmentIsAnErrorNamingTheFile) {
  CreateTopic("fragile", 1, {"--segment-bytes", "4096"});
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "record-" + std::to_string(i) + "-payload-payload\n";
  RunResult r = RunData({"produce", "fragile", "--batch-records", "10"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(RunData({"consume", "fragile"}).exit_code, 0);

  std::vector<std::string> logs;
  for (const auto& e : std::filesystem::directory_iterator(data_ + "/topics/fragile/0")) {
    if (e.path().extension() == ".log") logs.push_back(e.path().string());
  }
  std::sort(logs.begin(), logs.end());
  ASSERT_GE(logs.size(), 2u) << "the topic should have rolled to several segments";
  const std::string& first = logs.front();
  std::string bytes = ReadWholeFile(first);
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() / 2] ^= 0x5a;
  WriteWholeFile(first, bytes);

  RunResult c = RunData({"consume", "fragile"});
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_THAT(c.err, HasSubstr("onceflow: error: corruption: "));
  EXPECT_THAT(c.err, HasSubstr(first));
  EXPECT_EQ(SplitLines(c.err).size(), 1u) << c.err;
}

TEST_F(CliTest, DataDirectoryFromFlagEnvironmentOrDefault) {
  RunResult env = Run({"topics", "create", "fromenv"}, "", {{"ONCEFLOW_DATA", data_}});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  RunResult before = Run({"--data", data_, "topics", "list"});
  EXPECT_EQ(before.out, "fromenv\n");
  // The flag wins over the environment.
  RunResult flag = Run({"topics", "list", "--data", data_}, "", {{"ONCEFLOW_DATA", tmp_}});
  EXPECT_EQ(flag.out, "fromenv\n");
  // Neither: ./onceflow-data, relative to the working directory (the test's, so list only).
  RunResult none = Run({"topics", "list"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
}

TEST_F(CliTest, HelpOnEveryVerb) {
  for (auto verb : std::vector<std::vector<std::string>>{{},
                                                         {"topics"},
                                                         {"topics", "create"},
                                                         {"topics", "list"},
                                                         {"topics", "describe"},
                                                         {"topics", "repair"},
                                                         {"produce"},
                                                         {"consume"},
                                                         {"demo"},
                                                         {"demo-log"},
                                                         {"run"},
                                                         {"status"},
                                                         {"verify"}}) {
    std::string name = "onceflow";
    for (const auto& v : verb) name += " " + v;
    verb.push_back("--help");
    RunResult r = Run(verb);
    EXPECT_EQ(r.exit_code, 0) << name;
    EXPECT_THAT(r.out, HasSubstr("Usage: " + name + " [OPTIONS]")) << name;
    EXPECT_THAT(r.out, HasSubstr("--data DIR")) << name;
  }
}

TEST_F(CliTest, VersionNamesTheProjectVersionAndCommit) {
  RunResult r = Run({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      r.out, ::testing::MatchesRegex("onceflow [0-9]+\\.[0-9]+\\.[0-9]+( \\(git [0-9a-f]+\\))?\n"));
}

TEST_F(CliTest, UnknownVerbIsNamedAsSuch) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"frobnicate"},
        std::vector<std::string>{"--data", data_, "frobnicate", "--records", "3"}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "onceflow: error: unknown verb 'frobnicate' (see onceflow --help)\n");
  }
}

// A data directory on a read-only mount: the error says so (it said "No such file or
// directory"). Needs a process that may mount (root); skipped elsewhere (file_test.cc covers
// the message).
TEST_F(CliTest, ReadOnlyFileSystemIsReportedAsSuch) {
  ASSERT_EQ(RunData({"topics", "create", "t"}).exit_code, 0);
  const std::string ro = tmp_ + "/ro";
  ASSERT_EQ(std::system(("mkdir -p " + ro).c_str()), 0);
  if (std::system(("mount --bind -o ro " + data_ + " " + ro + " 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "cannot make a read-only bind mount here (not root?)";
  }
  RunResult create = Run({"topics", "create", "u", "--data", ro});
  RunResult produce = Run({"produce", "t", "--data", ro}, "a\n");
  EXPECT_EQ(std::system(("umount " + ro).c_str()), 0);
  for (const RunResult& r : {create, produce}) {
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("read-only file system: " + ro));
    EXPECT_THAT(r.err, Not(HasSubstr("No such file or directory")));
  }
}

TEST_F(CliTest, LogDemoVerifiesWhatItProduced) {
  RunResult r = RunData({"demo-log", "--records", "20000"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("verified 20000 records"));
  EXPECT_THAT(r.out, HasSubstr("records/s"));
  EXPECT_TRUE(std::filesystem::exists(data_ + "/demo/topics/demo/topic.meta"));
  // Again: the demo starts from a fresh directory rather than failing on the existing topic.
  RunResult again = RunData({"demo-log", "--records", "1000", "--durability", "none"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("verified 1000 records"));
}

}  // namespace
}  // namespace onceflow::testing
