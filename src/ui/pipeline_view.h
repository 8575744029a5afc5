// PipelineView: what the UI knows of one pipeline at one moment — whether it runs, its batch
// history, its checkpoint, and (inside `run --ui`) the live counters of the run — gathered
// from its files for one answer of the API or one scrape of /metrics.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint_state.h"
#include "onceflow/batch_history.h"
#include "onceflow/pipeline.h"
#include "ui/history_cache.h"
#include "ui/pipeline_catalog.h"

namespace onceflow::ui {

// The pipeline run by this process (`onceflow run --ui`): its counters since the run started.
struct LivePipeline {
  std::string name;
  std::function<PipelineStats()> stats;  // thread-safe (Pipeline::stats)
};

struct PipelineView {
  std::string name;
  std::string checkpoint_dir;
  bool running = false;  // a process holds the checkpoint's lock (or this one runs it)
  // "running", "stopped" or "failing" (the newest history record is a failed batch attempt:
  // the pipeline is retrying it, or it stopped on it).
  std::string status;
  HistoryRecords history;       // oldest first
  std::string history_warning;  // a damaged history file, named; or why none was read
  std::optional<audit::CheckpointState> checkpoint;
  std::string checkpoint_error;       // why the checkpoint could not be read
  std::optional<PipelineStats> live;  // set inside `run --ui` for its own pipeline
};

// Gathers the view of `entry`. `history_limit`: the newest records to read (-1: all).
// `history_cache`: where the history is read through (only what was appended since the last
// read is parsed); null: read and parsed whole. Never fails: what cannot be read is said in
// history_warning / checkpoint_error.
PipelineView LoadPipelineView(const PipelineEntry& entry, const LivePipeline* live,
                              int64_t history_limit, HistoryCache* history_cache);

// Records per second over the newest committed batches (at most 10): input = their records over
// the wall time from the first one's start to the last one's end; process = their records over
// their processing time. -1 when unknown (no committed batch, no time elapsed).
struct Rates {
  double input_rate = -1;
  double process_rate = -1;
};
Rates RecentRates(const HistoryRecords& history);

// The newest committed record, or nullptr.
const BatchRecord* LastCommitted(const HistoryRecords& history);
// The newest non-empty error of any record ("" none).
std::string LastError(const HistoryRecords& history);

}  // namespace onceflow::ui
