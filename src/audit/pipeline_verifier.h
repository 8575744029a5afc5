// PipelineVerifier: checks that a pipeline's sink and its checkpoint tell the same story — the
// sink's progress rows cover exactly the offsets the checkpoint has committed, with no gap, no
// overlap, and no batch or epoch the checkpoint does not know. Pipeline::Verify, `onceflow
// verify` and the ledger demo use it.
#pragma once

#include <map>
#include <string>

#include "config/pipeline_config.h"
#include "onceflow/status.h"
#include "onceflow/verify_report.h"
#include "sink/sink.h"

namespace onceflow::audit {

// Reads the checkpoint of `config.name` under `data_dir` (read-only) and the sink's progress
// rows (MakeSink, Open, ReadProgress; a SQLite file that does not exist is not created and
// holds no rows), and checks, for every partition of the checkpoint's last intent:
//   - exactly one progress row covers it (two: overlap), unless nothing was ever committed;
//   - that row ends at the committed offset: the intent's `until`, or — the last batch being
//     unfinished — its `from` or its `until`; before it is a gap, past it an overlap;
//   - a row that holds the last batch has exactly the batch's range;
// and that no row claims a batch newer than the last intent, an epoch newer than the
// checkpoint's, or a partition the checkpoint does not know. The map-only shape (task =
// partition, one range a row) and the reduce shape (task 0, a range per partition) both check.
// An error is returned only when something cannot be read; violations are in the report.
// Before that, the source is checked as `run` checks it at start (CheckPipelineSource): a source
// that is not the one the checkpoint committed from, or that lost or rewrote committed records,
// is a violation naming the way out (`reset_command`, as RunOptions::reset_command). A
// partition without a progress row is checked from the start the checkpoint recorded for it
// (source.meta), else from the source's earliest offset.
// REQUIRES: the pipeline is stopped (while it runs, the two reads are different moments).
Result<VerifyReport> VerifyPipeline(const config::PipelineConfig& config,
                                    const std::string& data_dir, const std::string& reset_command);

// The progress rows of `pipeline` in the sink of `config`, or none when the sink's database does
// not exist yet (a SQLite file is not created just to be read). `data_dir`: the data directory
// (the blackhole sink keeps its progress in the pipeline's checkpoint directory).
Result<std::map<int32_t, sink::TaskProgress>> ReadSinkProgress(const config::SinkConfig& config,
                                                               const std::string& pipeline,
                                                               const std::string& data_dir);

}  // namespace onceflow::audit
