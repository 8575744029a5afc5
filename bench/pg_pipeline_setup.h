// The setup the pipeline -> PostgreSQL benchmarks share (pipeline_postgres, pipeline_pg_ledger):
// a keyed 4-partition topic of the embedded log filled with generated records, a fresh schema
// per run, one timed run of a pipeline file until caught up, and the load average to print
// beside the figures. Every error ends the program (Die).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <string>

#include "onceflow/pipeline.h"

namespace onceflow::bench {

// Record i of a generated topic: its key, value and timestamp.
using MakeRecordFn =
    std::function<void(int64_t i, std::string* key, std::string* value, int64_t* timestamp_ms)>;

// Creates `topic` with 4 partitions in the data directory `data` and appends records 0..n-1
// (partition by key), in batches of about 1 MiB.
void ProduceKeyed(const std::string& data, const std::string& topic, int64_t n,
                  const MakeRecordFn& make);

// Drops `schema` (with everything in it) and creates it again through `admin`; returns
// `conninfo` with that schema as its search_path, for the pipeline's sink and the checks.
std::string FreshSchema(PGconn* admin, const std::string& conninfo, const std::string& schema);

// Writes `toml` to `toml_path`, runs that pipeline over `data` until caught up and returns its
// records/s (wall clock of Run). Ends the program unless it read exactly `n` records.
// `on_batch_committed`, if set, is the run's RunOptions::on_batch_committed.
double RunPipelineFile(
    const std::string& toml_path, const std::string& toml, const std::string& data, int64_t n,
    std::function<void(const BatchContext&, const PipelineStats&)> on_batch_committed = {});

// The 1-minute load average (/proc/loadavg), or -1: the machine is shared, say how busy it was.
double LoadAverage();

}  // namespace onceflow::bench
