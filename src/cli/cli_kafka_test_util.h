// Shared by the end-to-end tests of Kafka -> Kafka pipelines against the real broker: topics,
// the pipeline file, input with committed and aborted transactions, and the exactly-once check
// of the output as a read_committed consumer sees it.
#pragma once

#include <map>
#include <string>

#include "cli/cli_test_util.h"
#include "kafka/kafka_test_util.h"

namespace onceflow::cli::testing {

class KafkaPipelineTestBase : public CliTestBase {
 protected:
  // REQUIRES: bootstrap_ set (ONCEFLOW_KAFKA_OR_SKIP in the test, then Init()).
  void Init(const std::string& bootstrap) {
    bootstrap_ = bootstrap;
    name_ = kafka::testing::UniqueTopic("k2k");
    in_ = name_ + "-in";
    out_ = name_ + "-out";
    ASSERT_TRUE(kafka::testing::CreateTestTopic(bootstrap_, in_, 3).ok());
    ASSERT_TRUE(kafka::testing::CreateTestTopic(bootstrap_, out_, 2).ok());
    toml_ = tmp_ + "/k2k.toml";
  }

  void WriteToml(int64_t max_records_per_partition) {
    WriteWholeFile(toml_, "name = \"" + name_ + "\"\nbatch_interval_ms = 20\n"
                          "max_records_per_partition = " +
                              std::to_string(max_records_per_partition) +
                              "\n[source]\ntype = \"kafka\"\nbootstrap = \"" + bootstrap_ +
                              "\"\ntopic = \"" + in_ + "\"\nformat = \"json\"\n"
                              "[sink]\ntype = \"kafka\"\nbootstrap = \"" + bootstrap_ +
                              "\"\ntopic = \"" + out_ + "\"\nkey_field = \"id\"\n");
  }

  // Appends `n` records {"id": next, "amount": ...} over the input's partitions: half in
  // committed transactions, half plain, plus an aborted transaction of records with negative
  // ids that must never reach the output.
  void Produce(int n) {
    auto txn = kafka::testing::TestProducer::Make(bootstrap_, name_ + "-input");
    ASSERT_TRUE(txn.has_value()) << txn.error().ToString();
    auto plain = kafka::testing::TestProducer::Make(bootstrap_);
    ASSERT_TRUE(plain.has_value());
    ASSERT_TRUE(txn->Begin().ok());
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(txn->Send(in_, i % 3, "{\"id\": -" + std::to_string(i + 1) + "}").ok());
    }
    ASSERT_TRUE(txn->Flush().ok());
    ASSERT_TRUE(txn->Abort().ok());
    ASSERT_TRUE(txn->Begin().ok());
    for (int i = 0; i < n; ++i) {
      const int id = next_id_++;
      const std::string v =
          "{\"id\": " + std::to_string(id) + ", \"amount\": " + std::to_string(id % 97) + "}";
      if (i % 2 == 0) {
        ASSERT_TRUE(txn->Send(in_, id % 3, v).ok());
      } else {
        ASSERT_TRUE(plain->Send(in_, id % 3, v).ok());
      }
    }
    ASSERT_TRUE(plain->Flush().ok());
    ASSERT_TRUE(txn->Commit().ok());
  }

  // "" when a read_committed consumer of the output sees ids 0..next_id_-1 exactly once each,
  // with their amounts; else what is wrong.
  std::string CheckOutput() {
    auto records = kafka::testing::ReadCommitted(bootstrap_, out_);
    if (!records.has_value()) return records.error().ToString();
    std::map<int, int> seen;
    std::string problems;
    for (const auto& r : *records) {
      const int id = std::stoi(r.key);
      const std::string want = "{\"id\":" + r.key + ",\"amount\":" + std::to_string(id % 97) + "}";
      if (r.value != want) problems += "record " + r.key + " is " + r.value + "\n";
      ++seen[id];
    }
    int missing = 0, doubled = 0, foreign = 0;
    for (int id = 0; id < next_id_; ++id) {
      auto it = seen.find(id);
      if (it == seen.end()) ++missing;
      else if (it->second > 1) ++doubled;
    }
    for (const auto& [id, count] : seen) {
      if (id < 0 || id >= next_id_) ++foreign;
    }
    if (missing + doubled + foreign > 0) {
      problems += std::to_string(missing) + " missing, " + std::to_string(doubled) +
                  " duplicated, " + std::to_string(foreign) + " never produced (of " +
                  std::to_string(next_id_) + "; " + std::to_string(records->size()) +
                  " records read)\n";
    }
    return problems.substr(0, 2000);
  }

  RunResult RunPipeline(std::vector<std::string> extra = {},
                        const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = {"run", toml_, "--data", data_};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, "", env);
  }

  std::string bootstrap_, name_, in_, out_, toml_;
  int next_id_ = 0;
};

}  // namespace onceflow::cli::testing
