// UiApi: routing of /api/v1 and the JSON of each endpoint (docs/api.md).
#include "ui/ui_api.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "audit/pipeline_status.h"
#include "audit/pipeline_verifier.h"
#include "checkpoint/checkpoint.h"
#include "ui/batch_json.h"
#include "ui/config_snapshot.h"
#include "ui/dead_letter_reader.h"
#include "ui/json_writer.h"
#include "ui/pipeline_metrics.h"
#include "ui/state_summary.h"
#include "util/file.h"

namespace onceflow::ui {
namespace {

constexpr int64_t kMaxLimit = 10000;

// Parses the query parameter `key` as an integer in [min, max]; `fallback` when absent.
Result<int64_t> IntParam(const std::map<std::string, std::string>& q, const std::string& key,
                         int64_t fallback, int64_t min, int64_t max) {
  auto it = q.find(key);
  if (it == q.end()) return fallback;
  int64_t v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) {
    return Err(Status::InvalidArgument("query parameter " + key + " must be an integer from " +
                                       std::to_string(min) + " to " + std::to_string(max) +
                                       ", got '" + s.substr(0, 40) + "'"));
  }
  return v;
}

ApiAnswer Json(JsonWriter&& w) { return ApiAnswer{200, "application/json", w.Take() + "\n"}; }

// Splits "a/b/c" into its parts.
std::vector<std::string_view> Parts(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return parts;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

void WriteLive(JsonWriter& w, const PipelineStats& s) {
  w.BeginObject()
      .Member("batches_committed", s.batches_committed)
      .Member("batches_replayed", s.batches_replayed)
      .Member("batches_fenced", s.batches_fenced)
      .Member("records_in", s.records_in)
      .Member("rows_out", s.rows_out)
      .Member("dead_letters", s.dead_letters)
      .Member("late_records", s.late_records)
      .Member("task_attempts", s.task_attempts)
      .Member("task_failures", s.task_failures)
      .Member("speculative_attempts", s.speculative_attempts)
      .Member("batch_retries", s.batch_retries)
      .Member("last_batch", s.last_batch.value())
      .EndObject();
}

void WriteRate(JsonWriter& w, std::string_view key, double rate) {
  w.Key(key);
  if (rate < 0) {
    w.Null();
  } else {
    w.Double(rate);
  }
}

int64_t LagRecords(const BatchRecord* last) {
  if (last == nullptr) return -1;
  int64_t lag = 0;
  for (const PartitionProgress& p : last->partitions) lag += p.lag_records;
  return lag;
}

// The pipeline's config from its snapshot, for its sink and source.
Result<config::PipelineConfig> ConfigOf(const PipelineEntry& p) {
  Result<ConfigSnapshot> snapshot = ReadConfigSnapshot(p.checkpoint_dir);
  if (!snapshot.has_value()) {
    return Err(Status::NotFound("pipeline " + p.name + " has no config snapshot (" +
                                JoinPath(p.checkpoint_dir, kConfigSnapshotFile) +
                                "): run it once with this onceflow"));
  }
  return LoadSnapshotConfig(*snapshot, p.name);
}

}  // namespace

ApiAnswer ErrorAnswer(int status, std::string_view message) {
  JsonWriter w;
  w.BeginObject().Member("error", message).EndObject();
  return ApiAnswer{status, "application/json", w.Take() + "\n"};
}

ApiAnswer UiApi::Get(std::string_view path, const std::map<std::string, std::string>& q) const {
  const std::vector<std::string_view> parts = Parts(path);
  if (parts.empty() || parts[0] != "pipelines") {
    return ErrorAnswer(404, "no endpoint GET /api/v1" + std::string(path) + " (docs/api.md)");
  }
  if (parts.size() == 1) return Pipelines();
  const std::string name(parts[1]);
  const std::string dir = checkpoint::CheckpointDir(options_.data_dir, name);
  if (!ValidName(name) || !PathExists(dir)) {
    return ErrorAnswer(404, "no pipeline '" + name.substr(0, 100) + "' in " + options_.data_dir);
  }
  const PipelineEntry p{name, dir};
  if (parts.size() == 2) return Pipeline(p);
  const std::string_view what = parts[2];
  if (parts.size() == 3) {
    if (what == "batches") return Batches(p, q);
    if (what == "timeline") return Timeline(p, q);
    if (what == "audit") return Audit(p);
    if (what == "dead_letters") return DeadLetters(p, q);
    if (what == "state") return State(p);
  }
  if (parts.size() == 4 && what == "batches") return Batch(p, parts[3]);
  return ErrorAnswer(404, "no endpoint GET /api/v1" + std::string(path) + " (docs/api.md)");
}

ApiAnswer UiApi::Pipelines() const {
  Result<std::vector<PipelineEntry>> list = ListPipelines(options_.data_dir);
  if (!list.has_value()) return ErrorAnswer(500, list.error().ToString());
  JsonWriter w;
  w.BeginObject().Key("pipelines").BeginArray();
  for (const PipelineEntry& p : *list) {
    // The newest records only: enough for the last batch, the rates and the last error.
    const PipelineView v = LoadPipelineView(p, live(), 100, cache_.get());
    const BatchRecord* last = LastCommitted(v.history);
    const Rates rates = RecentRates(v.history);
    w.BeginObject().Member("name", v.name).Member("status", v.status);
    w.Key("last_batch");
    if (last != nullptr) {
      WriteBatchRecord(w, *last, false);
    } else {
      w.Null();
    }
    WriteRate(w, "input_rate", rates.input_rate);
    WriteRate(w, "process_rate", rates.process_rate);
    w.Key("lag_records");
    if (last != nullptr) {
      w.Int(LagRecords(last));
    } else {
      w.Null();
    }
    w.Member("last_error", LastError(v.history));
    w.Member("history_warning", v.history_warning);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return Json(std::move(w));
}

ApiAnswer UiApi::Pipeline(const PipelineEntry& p) const {
  const PipelineView v = LoadPipelineView(p, live(), -1, cache_.get());
  const BatchRecord* last = LastCommitted(v.history);
  const Rates rates = RecentRates(v.history);
  JsonWriter w;
  w.BeginObject().Member("name", v.name).Member("status", v.status).Member("running", v.running);
  Result<ConfigSnapshot> snapshot = ReadConfigSnapshot(p.checkpoint_dir);
  w.Key("config_toml");
  if (snapshot.has_value()) {
    w.String(snapshot->masked_toml);
    w.Member("config_source", snapshot->source_path);
  } else {
    w.Null();
    w.Key("config_source").Null();
  }
  int64_t batches = 0, records_in = 0, rows_out = 0, dead_letters = 0, late = 0;
  for (const BatchRecord& b : v.history) {
    if (b.outcome != "committed") continue;
    ++batches;
    records_in += b.records_in;
    rows_out += std::max<int64_t>(0, b.rows_out);  // -1: unknown (a reconstructed record)
    dead_letters += b.dead_letters;
    late += b.late_records;
  }
  w.Key("totals")
      .BeginObject()
      .Member("batches", batches)
      .Member("records_in", records_in)
      .Member("rows_out", rows_out)
      .Member("dead_letters", dead_letters)
      .Member("late_records", late)
      .EndObject();
  w.Key("partitions").BeginArray();
  if (last != nullptr) {
    for (const PartitionProgress& pp : last->partitions) WritePartitionProgress(w, pp);
  }
  w.EndArray();
  w.Key("last_batch");
  if (last != nullptr) {
    WriteBatchRecord(w, *last, false);
  } else {
    w.Null();
  }
  WriteRate(w, "input_rate", rates.input_rate);
  WriteRate(w, "process_rate", rates.process_rate);
  w.Member("last_error", LastError(v.history));
  w.Member("history_warning", v.history_warning);
  w.Key("checkpoint");
  if (v.checkpoint) {
    const audit::CheckpointState& c = *v.checkpoint;
    w.BeginObject().Member("epoch", c.epoch.value());
    w.Member("last_committed_batch", c.last_committed_batch());
    w.Key("unfinished_batch");
    if (c.unfinished && c.last_intent) {
      w.Int(c.last_intent->batch.value());
    } else {
      w.Null();
    }
    w.Key("watermark_ms");
    if (c.last_intent && c.last_intent->watermark_ms != checkpoint::kNoWatermark) {
      w.Int(c.last_intent->watermark_ms);
    } else {
      w.Null();
    }
    w.EndObject();
  } else {
    w.Null();
  }
  w.Member("checkpoint_error", v.checkpoint_error);
  // The lag now, from the source's end offsets (read-only, as `onceflow status`): the history's
  // lag is as of the newest batch's planning, which a stopped pipeline no longer updates.
  Result<config::PipelineConfig> config = ConfigOf(p);
  Result<PipelineStatus> now = Err(Status::NotFound(""));
  if (config.has_value()) {
    AuditOptions status_options;
    status_options.read_sink_progress = false;
    now = audit::ReadPipelineStatus(*config, options_.data_dir, status_options);
  }
  w.Key("source_lag");
  if (now.has_value() && now->refusal.ok()) {
    w.BeginObject().Member("total", now->total_lag).Key("partitions").BeginArray();
    for (const PartitionStatus& ps : now->partitions) {
      w.BeginObject()
          .Member("partition", ps.partition.value())
          .Member("end", ps.end.value())
          .Member("lag", ps.lag)
          .EndObject();
    }
    w.EndArray().EndObject();
  } else {
    w.Null();
  }
  w.Member("source_lag_error", !config.has_value() ? config.error().message()
                               : !now.has_value()  ? now.error().message()
                                                   : now->refusal.message());
  w.Key("live");
  if (v.live) {
    WriteLive(w, *v.live);
  } else {
    w.Null();
  }
  w.EndObject();
  return Json(std::move(w));
}

ApiAnswer UiApi::Batches(const PipelineEntry& p,
                         const std::map<std::string, std::string>& q) const {
  Result<int64_t> limit = IntParam(q, "limit", 50, 1, kMaxLimit);
  if (!limit.has_value()) return ErrorAnswer(400, limit.error().message());
  Result<int64_t> before = IntParam(q, "before", INT64_MAX, 0, INT64_MAX);
  if (!before.has_value()) return ErrorAnswer(400, before.error().message());
  const PipelineView v = LoadPipelineView(p, live(), -1, cache_.get());
  JsonWriter w;
  w.BeginObject().Key("batches").BeginArray();
  int64_t written = 0;
  std::optional<int64_t> next_before;
  int64_t last_id = -1;
  for (auto it = v.history.rbegin(); it != v.history.rend(); ++it) {
    if (it->batch_id >= *before) continue;
    // A page ends between two batch ids, never inside the records of one batch (a failed
    // attempt and its retry), so that `before` pages on without skipping any.
    if (written >= *limit && it->batch_id != last_id) {
      next_before = last_id;
      break;
    }
    WriteBatchRecord(w, *it, false);
    ++written;
    last_id = it->batch_id;
  }
  w.EndArray().Key("next_before");
  if (next_before) {
    w.Int(*next_before);
  } else {
    w.Null();
  }
  w.Member("history_warning", v.history_warning);
  w.EndObject();
  return Json(std::move(w));
}

ApiAnswer UiApi::Batch(const PipelineEntry& p, std::string_view id_text) const {
  int64_t id = -1;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size() || id < 0) {
    return ErrorAnswer(400, "a batch id is a non-negative integer, got '" +
                                std::string(id_text.substr(0, 40)) + "'");
  }
  const PipelineView v = LoadPipelineView(p, live(), -1, cache_.get());
  std::vector<const BatchRecord*> records;
  for (const BatchRecord& b : v.history) {
    if (b.batch_id == id) records.push_back(&b);
  }
  if (records.empty()) {
    return ErrorAnswer(
        404, "pipeline " + p.name + " has no batch " + std::to_string(id) + " in its history");
  }
  // The newest record of the batch (its commit, when it committed) in full; the earlier ones
  // (failed attempts) as summaries.
  std::string full;
  {
    JsonWriter r;
    WriteBatchRecord(r, *records.back(), true);
    full = r.Take();
  }
  full.pop_back();  // the closing brace: the members below go into the same object
  JsonWriter w;
  w.BeginObject();
  w.Key("earlier_attempts").BeginArray();
  for (size_t i = 0; i + 1 < records.size(); ++i) WriteBatchRecord(w, *records[i], false);
  w.EndArray();
  Result<config::PipelineConfig> config = ConfigOf(p);
  Result<std::vector<StoredDeadLetter>> dead =
      config.has_value() ? ReadDeadLetters(*config, {.limit = 1000, .batch_id = id})
                         : Result<std::vector<StoredDeadLetter>>(Err(config.error()));
  // Not "dead_letters": the record's count has that name.
  w.Key("dead_letter_records").BeginArray();
  if (dead.has_value()) {
    for (const StoredDeadLetter& d : *dead) {
      w.BeginObject()
          .Member("batch_id", d.batch_id)
          .Member("partition", d.partition)
          .Member("offset", d.offset)
          .Member("error", d.error)
          .Member("raw", d.raw)
          .EndObject();
    }
  }
  w.EndArray();
  w.Member("dead_letter_records_error", dead.has_value() ? std::string() : dead.error().message());
  w.EndObject();
  std::string extra = w.Take();  // {"earlier_attempts":...}
  return ApiAnswer{200, "application/json", full + "," + extra.substr(1) + "\n"};
}

ApiAnswer UiApi::Timeline(const PipelineEntry& p,
                          const std::map<std::string, std::string>& q) const {
  Result<int64_t> limit = IntParam(q, "limit", 300, 1, kMaxLimit);
  if (!limit.has_value()) return ErrorAnswer(400, limit.error().message());
  const PipelineView v = LoadPipelineView(p, live(), -1, cache_.get());
  std::vector<const BatchRecord*> committed;
  for (const BatchRecord& b : v.history) {
    if (b.outcome == "committed") committed.push_back(&b);
  }
  const size_t first =
      committed.size() > static_cast<size_t>(*limit) ? committed.size() - *limit : 0;
  JsonWriter w;
  w.BeginObject().Key("batches").BeginArray();
  for (size_t i = first; i < committed.size(); ++i) {
    const BatchRecord& b = *committed[i];
    w.BeginObject()
        .Member("batch_id", b.batch_id)
        .Member("batch_time_ms", b.batch_time_ms)
        .Member("end_time_ms", b.end_time_ms)
        .Member("records_in", b.records_in);
    // Records per second since the previous batch was due (the batch's share of the input).
    const int64_t since = i > 0 ? b.trigger_time_ms - committed[i - 1]->trigger_time_ms : 0;
    WriteRate(w, "input_rate", since > 0 ? b.records_in * 1000.0 / since : -1);
    w.Member("scheduling_delay_ms", b.scheduling_delay_ms)
        .Member("processing_ms", b.processing_ms)
        .Member("total_delay_ms", b.total_delay_ms);
    w.Key("phases");
    WritePhases(w, b.phases);
    w.Member("visibility_p50_ms", b.visibility_p50_ms)
        .Member("visibility_p99_ms", b.visibility_p99_ms)
        .EndObject();
  }
  w.EndArray().Member("history_warning", v.history_warning).EndObject();
  return Json(std::move(w));
}

std::string UiApi::Metrics() const {
  PrometheusText text;
  Result<std::vector<PipelineEntry>> list = ListPipelines(options_.data_dir);
  if (list.has_value()) {
    for (const PipelineEntry& p : *list)
      AddPipelineMetrics(LoadPipelineView(p, live(), -1, cache_.get()), &text);
  }
  text.Gauge("onceflow_ui_pipelines", "Pipelines in the data directory.", {},
             list.has_value() ? static_cast<double>(list->size()) : 0);
  return text.Render();
}

}  // namespace onceflow::ui
