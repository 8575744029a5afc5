// Uses an installed onceflow through its public API only: makes a topic with the producer,
// runs a pipeline over it to a SQLite sink until caught up, and checks the output, the status
// and the verification. Prints one line and exits 0 when all is as expected.
//
//   install_check DATA_DIR
#include <cstdio>
#include <set>
#include <string>

#include "onceflow/pipeline.h"
#include "onceflow/producer.h"
#include "onceflow/topic.h"

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "install_check: FAILED: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return Fail("usage: install_check DATA_DIR");
  const std::string data = argv[1];
  constexpr int kRecords = 500;

  auto topic = onceflow::Topic::Create(data, "numbers", {.partitions = 2});
  if (!topic.has_value()) return Fail("topic: " + topic.error().ToString());
  auto producer = onceflow::Producer::Create(topic->get());
  if (!producer.has_value()) return Fail("producer: " + producer.error().ToString());
  for (int i = 0; i < kRecords; ++i) {
    auto sent = (*producer)->Send(std::to_string(i % 7), "{\"n\":" + std::to_string(i) + "}");
    if (!sent.has_value()) return Fail("send: " + sent.error().ToString());
  }
  if (onceflow::Status s = (*producer)->Close(); !s.ok()) return Fail("close: " + s.ToString());

  // The even numbers, doubled, into SQLite; every row the sink receives is collected.
  std::set<int64_t> seen;
  onceflow::SqliteSinkOptions sink;
  sink.path = data + "/out.db";
  sink.init = {"CREATE TABLE IF NOT EXISTS doubled(n INTEGER)"};
  sink.mode = onceflow::SinkMode::kAppend;
  sink.table = "doubled";
  auto pipeline =
      onceflow::PipelineBuilder("doubler")
          .FromLog({.topic = "numbers"})
          .Filter([](const onceflow::Row& r) { return r.GetInt("n").value_or(1) % 2 == 0; })
          .Map([](onceflow::Row r) {
            return onceflow::Row{{"n", *r.GetInt("n") * 2}};
          })
          .ForeachBatch([&](const onceflow::BatchContext&, std::span<const onceflow::Row> rows) {
            for (const onceflow::Row& r : rows) seen.insert(*r.GetInt("n"));
            return onceflow::Status::Ok();
          })
          .ToSqlite(sink)
          .Build();
  if (!pipeline.has_value()) return Fail("build: " + pipeline.error().ToString());
  onceflow::RunOptions run;
  run.data_dir = data;
  run.until_caught_up = true;
  run.on_log = [](const std::string&) {};
  if (onceflow::Status s = (*pipeline)->Run(run); !s.ok()) return Fail("run: " + s.ToString());

  const onceflow::PipelineStats stats = (*pipeline)->stats();
  if (stats.records_in != kRecords) {
    return Fail("records in: " + std::to_string(stats.records_in));
  }
  if (stats.rows_out != kRecords / 2 || seen.size() != kRecords / 2) {
    return Fail("rows out: " + std::to_string(stats.rows_out));
  }
  for (int i = 0; i < kRecords; i += 2) {
    if (!seen.contains(2 * i)) return Fail("row " + std::to_string(2 * i) + " missing");
  }
  auto status = (*pipeline)->Status(data);
  if (!status.has_value()) return Fail("status: " + status.error().ToString());
  if (status->total_committed != kRecords || status->total_lag != 0 ||
      status->sink_progress.size() != 2) {
    return Fail("status: committed " + std::to_string(status->total_committed) + ", lag " +
                std::to_string(status->total_lag));
  }
  auto report = (*pipeline)->Verify(data);
  if (!report.has_value()) return Fail("verify: " + report.error().ToString());
  if (!report->ok()) return Fail("verify: " + report->first_violation());
  std::printf("install_check: OK: %d records, %zu rows, verified\n", kRecords, seen.size());
  return 0;
}
