// KafkaPipelineTestBase: the fixture of the end-to-end tests of Kafka -> Kafka pipelines
// against the real broker — input and output topics of the test's own, the pipeline file,
// input with committed and aborted transactions, and the exactly-once check of the output as a
// read_committed consumer sees it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "testing/cli_test_base.h"
#include "testing/kafka.h"

namespace onceflow::testing {

class KafkaPipelineTestBase : public CliTestBase {
 protected:
  // Makes the test's topics (input: 3 partitions, output: 2).
  // REQUIRES: a broker (ONCEFLOW_KAFKA_OR_SKIP in the test, then Init()).
  void Init(const std::string& bootstrap);

  // Writes the pipeline file: input to output, keyed by "id".
  void WriteToml(int64_t max_records_per_partition);

  // Appends `n` records {"id": next, "amount": ...} over the input's partitions: half in
  // committed transactions, half plain, plus an aborted transaction of records with negative
  // ids that must never reach the output.
  void Produce(int n);

  // "" when a read_committed consumer of the output sees ids 0..next_id_-1 exactly once each,
  // with their amounts; else what is wrong.
  std::string CheckOutput();

  // `onceflow run <toml> --data <data> extra...` to completion.
  RunResult RunPipeline(std::vector<std::string> extra = {},
                        const std::map<std::string, std::string>& env = {});

  std::string bootstrap_, name_, in_, out_, toml_;
  int next_id_ = 0;
};

}  // namespace onceflow::testing
