// LoadPipelineView and the figures derived from the history.
#include "ui/pipeline_view.h"

#include <algorithm>

namespace onceflow::ui {

PipelineView LoadPipelineView(const PipelineEntry& entry, const LivePipeline* live,
                              int64_t history_limit, HistoryCache* history_cache) {
  PipelineView v;
  v.name = entry.name;
  v.checkpoint_dir = entry.checkpoint_dir;
  const bool is_live = live != nullptr && live->name == entry.name;
  v.running = is_live || CheckpointLockHeld(entry.checkpoint_dir);
  if (is_live && live->stats) v.live = live->stats();
  Result<CachedHistory> h = Err(Status::NotFound(""));
  if (history_cache != nullptr) {
    h = history_cache->Read(entry.checkpoint_dir, history_limit);
  } else if (Result<HistoryReadResult> read = ReadBatchHistory(entry.checkpoint_dir, history_limit);
             read.has_value()) {
    std::vector<HistoryRecords::Ptr> records;
    records.reserve(read->batches.size());
    for (BatchRecord& b : read->batches) {
      records.push_back(std::make_shared<const BatchRecord>(std::move(b)));
    }
    h = CachedHistory{HistoryRecords(std::move(records)), std::move(read->warning)};
  } else {
    h = Err(read.error());
  }
  if (h.has_value()) {
    v.history = std::move(h->records);
    v.history_warning = std::move(h->warning);
  } else {
    v.history_warning = "history of " + entry.name + " unreadable: " + h.error().ToString();
  }
  const size_t slash = entry.checkpoint_dir.rfind("/pipelines/");
  const std::string data_dir =
      slash == std::string::npos ? std::string(".") : entry.checkpoint_dir.substr(0, slash);
  if (auto cp = audit::ReadCheckpointState(data_dir, entry.name); cp.has_value()) {
    v.checkpoint = std::move(*cp);
  } else {
    v.checkpoint_error = cp.error().ToString();
  }
  const bool failing = !v.history.empty() && v.history.back().outcome == "failed";
  v.status = failing ? "failing" : (v.running ? "running" : "stopped");
  return v;
}

Rates RecentRates(const HistoryRecords& history) {
  Rates r;
  int64_t records = 0, processing_ms = 0, first_start = -1, last_end = -1;
  int n = 0;
  for (auto it = history.rbegin(); it != history.rend() && n < 10; ++it) {
    if (it->outcome != "committed") continue;
    ++n;
    records += it->records_in;
    processing_ms += it->processing_ms;
    if (last_end < 0) last_end = it->end_time_ms;
    first_start = it->start_time_ms;
  }
  if (n == 0) return r;
  if (last_end > first_start) r.input_rate = records * 1000.0 / (last_end - first_start);
  if (processing_ms > 0) r.process_rate = records * 1000.0 / processing_ms;
  return r;
}

const BatchRecord* LastCommitted(const HistoryRecords& history) {
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (it->outcome == "committed") return &*it;
  }
  return nullptr;
}

std::string LastError(const HistoryRecords& history) {
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (!it->error.empty()) return it->error;
  }
  return "";
}

}  // namespace onceflow::ui
