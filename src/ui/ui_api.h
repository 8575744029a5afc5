// UiApi: the UI's JSON API under /api/v1 and its Prometheus /metrics, over the pipelines of
// one data directory (docs/api.md, docs/metrics.md). Every answer is read from the pipelines'
// files when asked (history, checkpoint, config snapshot, sink), so it is current and works
// while the pipelines run, in this process (`run --ui`) or others (`ui`); of the history, only
// what was appended since the last request is read and parsed (HistoryCache).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ui/pipeline_view.h"

namespace onceflow::ui {

struct ApiAnswer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct UiApiOptions {
  std::string data_dir;
  // Inside `onceflow run --ui`: the pipeline this process runs (its live counters).
  std::optional<LivePipeline> live;
};

// Thread-safety: Get and Metrics may run on any number of threads at once (they only read).
class UiApi {
 public:
  explicit UiApi(UiApiOptions options)
      : options_(std::move(options)), cache_(std::make_unique<HistoryCache>()) {}

  // Answers GET `path` (below /api/v1, e.g. "/pipelines/ledger/batches") with the query
  // parameters `query`: 200 with the JSON, 404 for an unknown endpoint or pipeline or batch,
  // 400 for a bad parameter, 500 when a file cannot be read; errors as {"error": "..."}.
  ApiAnswer Get(std::string_view path, const std::map<std::string, std::string>& query) const;

  // The Prometheus text of every pipeline (docs/metrics.md).
  std::string Metrics() const;

  const UiApiOptions& options() const { return options_; }

 private:
  ApiAnswer Pipelines() const;
  ApiAnswer Pipeline(const PipelineEntry& p) const;
  ApiAnswer Batches(const PipelineEntry& p, const std::map<std::string, std::string>& q) const;
  ApiAnswer Batch(const PipelineEntry& p, std::string_view id) const;
  ApiAnswer Timeline(const PipelineEntry& p, const std::map<std::string, std::string>& q) const;
  ApiAnswer Audit(const PipelineEntry& p) const;
  ApiAnswer DeadLetters(const PipelineEntry& p, const std::map<std::string, std::string>& q) const;
  ApiAnswer State(const PipelineEntry& p) const;
  const LivePipeline* live() const { return options_.live ? &*options_.live : nullptr; }

  UiApiOptions options_;
  // The parsed history of each pipeline asked about (thread-safe; Get and Metrics are const).
  std::unique_ptr<HistoryCache> cache_;
};

// {"error": message} with `status`.
ApiAnswer ErrorAnswer(int status, std::string_view message);

}  // namespace onceflow::ui
