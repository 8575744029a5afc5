// The child of the per-batch keyed-state crash test: a builder pipeline whose keyed state is
// the per-batch step (PipelineBuilder::UpdateStateBatch) — a running count and sum per user of
// the `purchases` topic, upserted into SQLite — run until caught up. Fault points are armed
// from ONCEFLOW_FAULTS as `onceflow` arms them.
//
// Usage: state_batch_child DATA_DIR DB
//
// Prints "committed" on stdout after each committed batch (the test times its kills after the
// first, so that they land among batches however slow the start is). Exits 0 once caught up;
// any error is printed to stderr and exits 1.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <span>
#include <string>

#include "onceflow/pipeline.h"
#include "util/fault_points.h"

namespace {

// One call per state task and batch: each key's count and sum go on from its state.
onceflow::Status RunningTotals(std::span<onceflow::KeyedStateUpdate> keys,
                               const onceflow::BatchContext&) {
  for (onceflow::KeyedStateUpdate& k : keys) {
    int64_t n = k.state ? k.state->GetInt("n").value_or(0) : 0;
    int64_t spent = k.state ? k.state->GetInt("spent").value_or(0) : 0;
    for (const onceflow::Row& v : k.values) {
      ++n;
      spent += v.GetInt("amount").value_or(0);
    }
    k.state = onceflow::Row{{"n", n}, {"spent", spent}};
    k.out.push_back(
        onceflow::Row{{"user", k.key.fields()[0].second}, {"purchases", n}, {"spent", spent}});
  }
  return onceflow::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: state_batch_child DATA_DIR DB\n");
    return 1;
  }
  if (onceflow::Status s = onceflow::faults::ArmFromEnvironment(); !s.ok()) {
    std::fprintf(stderr, "state_batch_child: %s\n", s.ToString().c_str());
    return 1;
  }
  onceflow::SqliteSinkOptions sink;
  sink.path = argv[2];
  sink.init = {"CREATE TABLE IF NOT EXISTS spend(user TEXT PRIMARY KEY, purchases INTEGER, "
               "spent INTEGER)"};
  sink.mode = onceflow::SinkMode::kUpsert;
  sink.table = "spend";
  sink.key = {"user"};
  onceflow::PipelineBuilder b("batch-totals");
  b.FromLog({.topic = "purchases"})
      .UpdateStateBatch({"user"}, RunningTotals)
      .ToSqlite(sink)
      .BatchInterval(std::chrono::milliseconds(5))
      .MaxRecordsPerPartition(5)
      .AdaptiveBatchSize(false)
      .StateTasks(3);
  auto pipeline = b.Build();
  if (!pipeline.has_value()) {
    std::fprintf(stderr, "state_batch_child: %s\n", pipeline.error().ToString().c_str());
    return 1;
  }
  onceflow::RunOptions options;
  options.data_dir = argv[1];
  options.until_caught_up = true;
  options.on_batch_committed = [](const onceflow::BatchContext&, const onceflow::PipelineStats&) {
    // The parent may kill us mid-write: a failed or short write is harmless.
    (void)!::write(STDOUT_FILENO, "committed\n", 10);
  };
  if (onceflow::Status s = (*pipeline)->Run(options); !s.ok()) {
    std::fprintf(stderr, "state_batch_child: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
