// KafkaPipelineTestBase.
#include "testing/kafka_pipeline_test_base.h"

namespace onceflow::testing {

void KafkaPipelineTestBase::Init(const std::string& bootstrap) {
  bootstrap_ = bootstrap;
  name_ = UniqueTopic("k2k");
  in_ = name_ + "-in";
  out_ = name_ + "-out";
  ASSERT_TRUE(CreateTestTopic(bootstrap_, in_, 3).ok());
  ASSERT_TRUE(CreateTestTopic(bootstrap_, out_, 2).ok());
  toml_ = tmp_ + "/k2k.toml";
}

void KafkaPipelineTestBase::WriteToml(int64_t max_records_per_partition) {
  WriteWholeFile(toml_, "name = \"" + name_ +
                            "\"\nbatch_interval_ms = 20\n"
                            "max_records_per_partition = " +
                            std::to_string(max_records_per_partition) +
                            "\n[source]\ntype = \"kafka\"\nbootstrap = \"" + bootstrap_ +
                            "\"\ntopic = \"" + in_ +
                            "\"\nformat = \"json\"\n"
                            "[sink]\ntype = \"kafka\"\nbootstrap = \"" +
                            bootstrap_ + "\"\ntopic = \"" + out_ + "\"\nkey_field = \"id\"\n");
}

void KafkaPipelineTestBase::Produce(int n) {
  auto txn = TestProducer::Make(bootstrap_, name_ + "-input");
  ASSERT_TRUE(txn.has_value()) << txn.error().ToString();
  auto plain = TestProducer::Make(bootstrap_);
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

std::string KafkaPipelineTestBase::CheckOutput() {
  auto records = ReadCommitted(bootstrap_, out_);
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
    if (it == seen.end()) {
      ++missing;
    } else if (it->second > 1) {
      ++doubled;
    }
  }
  for (const auto& [id, count] : seen) {
    if (id < 0 || id >= next_id_) ++foreign;
  }
  if (missing + doubled + foreign > 0) {
    problems += std::to_string(missing) + " missing, " + std::to_string(doubled) + " duplicated, " +
                std::to_string(foreign) + " never produced (of " + std::to_string(next_id_) + "; " +
                std::to_string(records->size()) + " records read)\n";
  }
  return problems.substr(0, 2000);
}

RunResult KafkaPipelineTestBase::RunPipeline(std::vector<std::string> extra,
                                             const std::map<std::string, std::string>& env) {
  std::vector<std::string> args = {"run", toml_, "--data", data_};
  args.insert(args.end(), extra.begin(), extra.end());
  return Run(args, "", env);
}

}  // namespace onceflow::testing
