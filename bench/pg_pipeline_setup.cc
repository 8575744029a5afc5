// The pipeline -> PostgreSQL benchmarks' shared setup.
#include "pg_pipeline_setup.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "bench_stats.h"
#include "fatal.h"
#include "log/topic.h"
#include "pg_bench_client.h"
#include "util/file.h"

namespace onceflow::bench {

void ProduceKeyed(const std::string& data, const std::string& topic_name, int64_t n,
                  const MakeRecordFn& make) {
  constexpr int kPartitions = 4;
  log::TopicConfig config;
  config.partitions = kPartitions;
  auto topic = log::Topic::Create(data, topic_name, config);
  if (!topic.has_value()) Die("create topic: " + topic.error().ToString());
  std::vector<log::BatchBuilder> builders(kPartitions);
  auto flush = [&](int p) {
    auto r = (*(*topic)->partition(PartitionId(p)))->Append(builders[p].Finish());
    if (!r.has_value()) Die("append: " + r.error().ToString());
  };
  std::string key, value;
  int64_t ts = 0;
  for (int64_t i = 0; i < n; ++i) {
    make(i, &key, &value, &ts);
    const int p = (*topic)->PartitionForKey(key).value();
    builders[p].Add(RecordView{key, value, ts, {}});
    if (builders[p].size_bytes() > (1 << 20)) flush(p);
  }
  for (int p = 0; p < kPartitions; ++p) {
    if (!builders[p].empty()) flush(p);
  }
}

std::string FreshSchema(PGconn* admin, const std::string& conninfo, const std::string& schema) {
  Sql(admin, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  Sql(admin, "CREATE SCHEMA " + schema);
  return conninfo + " options='-csearch_path=" + schema + "'";
}

double RunPipelineFile(
    const std::string& toml_path, const std::string& toml, const std::string& data, int64_t n,
    std::function<void(const BatchContext&, const PipelineStats&)> on_batch_committed) {
  if (!WriteFileAtomically(toml_path, toml).ok()) Die("write " + toml_path);
  auto pipeline = Pipeline::FromConfigFile(toml_path);
  if (!pipeline.has_value()) Die("config: " + pipeline.error().ToString());
  RunOptions o;
  o.data_dir = data;
  o.until_caught_up = true;
  o.on_log = [](const std::string&) {};
  if (on_batch_committed) o.on_batch_committed = std::move(on_batch_committed);
  const auto t0 = std::chrono::steady_clock::now();
  Status s = (*pipeline)->Run(o);
  const double secs = Seconds(std::chrono::steady_clock::now() - t0);
  if (!s.ok()) Die("run: " + s.ToString());
  if ((*pipeline)->stats().records_in != n) Die("run: did not read every record");
  return static_cast<double>(n) / secs;
}

double LoadAverage() {
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

}  // namespace onceflow::bench
