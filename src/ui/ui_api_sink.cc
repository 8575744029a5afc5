// UiApi's endpoints that look past the history into the pipeline's sink and state: the audit
// (what `onceflow verify` checks), the dead letters and the state store.
#include <algorithm>
#include <charconv>
#include <map>

#include "audit/pipeline_status.h"
#include "audit/pipeline_verifier.h"
#include "ui/config_snapshot.h"
#include "ui/dead_letter_reader.h"
#include "ui/json_writer.h"
#include "ui/state_summary.h"
#include "ui/ui_api.h"
#include "util/file.h"

namespace onceflow::ui {
namespace {

Result<config::PipelineConfig> SnapshotConfig(const PipelineEntry& p, std::string* source) {
  Result<ConfigSnapshot> snapshot = ReadConfigSnapshot(p.checkpoint_dir);
  if (!snapshot.has_value()) {
    return Err(Status::NotFound("pipeline " + p.name + " has no config snapshot (" +
                                JoinPath(p.checkpoint_dir, kConfigSnapshotFile) +
                                "): run it once with this onceflow"));
  }
  *source = snapshot->source_path;
  return LoadSnapshotConfig(*snapshot, p.name);
}

const char* UnfinishedName(VerifyReport::Unfinished u) {
  switch (u) {
    case VerifyReport::Unfinished::kNone: return "none";
    case VerifyReport::Unfinished::kBefore: return "before";
    case VerifyReport::Unfinished::kAfter: return "after";
    case VerifyReport::Unfinished::kMixed: return "mixed";
  }
  return "none";
}

void WriteRanges(JsonWriter& w, const std::vector<OffsetRange>& ranges) {
  w.BeginArray();
  for (const OffsetRange& r : ranges) {
    w.BeginObject()
        .Member("partition", r.partition.value())
        .Member("from", r.from.value())
        .Member("until", r.until.value())
        .EndObject();
  }
  w.EndArray();
}

}  // namespace

ApiAnswer UiApi::Audit(const PipelineEntry& p) const {
  std::string source;
  Result<config::PipelineConfig> config = SnapshotConfig(p, &source);
  if (!config.has_value()) return ErrorAnswer(404, config.error().message());
  const PipelineView v = LoadPipelineView(p, live(), -1, cache_.get());
  const std::string reset = "onceflow reset " + source + " --yes";
  // verify is meant for a stopped pipeline: while it runs the checkpoint and the sink are read
  // at different moments, and a batch committing between the two reads looks like a gap. A
  // report with violations is therefore taken again (a real violation stays).
  Result<VerifyReport> report = audit::VerifyPipeline(*config, options_.data_dir, reset);
  for (int again = 0; v.running && again < 3 && report.has_value() && !report->ok(); ++again) {
    report = audit::VerifyPipeline(*config, options_.data_dir, reset);
  }
  if (!report.has_value()) return ErrorAnswer(500, report.error().ToString());
  AuditOptions status_options;
  status_options.reset_command = reset;
  Result<PipelineStatus> status =
      audit::ReadPipelineStatus(*config, options_.data_dir, status_options);
  JsonWriter w;
  w.BeginObject().Member("ok", report->ok()).Member("running", v.running);
  w.Key("violations").BeginArray();
  for (const std::string& s : report->violations) w.String(s);
  w.EndArray().Key("summary").BeginArray();
  for (const std::string& s : report->summary) w.String(s);
  w.EndArray();
  w.Member("unfinished", UnfinishedName(report->unfinished))
      .Member("progress_rows", report->progress_rows)
      .Member("partitions_checked", report->partitions_checked);
  w.Key("committed").BeginArray();
  if (status.has_value()) {
    for (const PartitionStatus& ps : status->partitions) {
      w.BeginObject().Member("partition", ps.partition.value());
      w.Key("committed");
      if (ps.committed) {
        w.Int(ps.committed->value());
      } else {
        w.Null();
      }
      w.Member("end", ps.end.value()).Member("lag", ps.lag).EndObject();
    }
  }
  w.EndArray().Key("sink_progress").BeginArray();
  if (status.has_value()) {
    for (const SinkTaskProgress& t : status->sink_progress) {
      w.BeginObject()
          .Member("task", t.task)
          .Member("last_batch", t.last_batch.value())
          .Member("epoch", t.epoch.value());
      w.Key("ranges");
      WriteRanges(w, t.ranges);
      w.EndObject();
    }
  }
  w.EndArray();
  w.Member("status_error",
           status.has_value()
               ? (status->sink_error.ok() ? std::string() : status->sink_error.message())
               : status.error().message());
  // The history's own check: the committed batches it holds read contiguous ranges (each
  // partition's `from` is the previous batch's `until`).
  int64_t records_in = 0, rows_out = 0, dead_letters = 0, checked = 0;
  std::string first_gap;
  std::map<int32_t, int64_t> until;
  for (const BatchRecord& b : v.history) {
    if (b.outcome != "committed") continue;
    ++checked;
    records_in += b.records_in;
    rows_out += std::max<int64_t>(0, b.rows_out);  // -1: unknown (a reconstructed record)
    dead_letters += b.dead_letters;
    for (const PartitionProgress& pp : b.partitions) {
      auto it = until.find(pp.partition);
      if (it != until.end() && it->second != pp.from && first_gap.empty()) {
        first_gap = "batch " + std::to_string(b.batch_id) + " reads partition " +
                    std::to_string(pp.partition) + " from " + std::to_string(pp.from) +
                    " but the batch before it ended at " + std::to_string(it->second);
      }
      until[pp.partition] = pp.until;
    }
  }
  w.Key("history")
      .BeginObject()
      .Member("batches_checked", checked)
      .Member("contiguous", first_gap.empty())
      .Member("first_gap", first_gap)
      .Member("records_in", records_in)
      .Member("rows_out", rows_out)
      .Member("dead_letters", dead_letters)
      .EndObject();
  w.EndObject();
  return ApiAnswer{200, "application/json", w.Take() + "\n"};
}

ApiAnswer UiApi::DeadLetters(const PipelineEntry& p,
                             const std::map<std::string, std::string>& q) const {
  int64_t limit = 100;
  if (auto it = q.find("limit"); it != q.end()) {
    const std::string& s = it->second;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), limit);
    if (ec != std::errc() || end != s.data() + s.size() || limit < 1 || limit > 10000) {
      return ErrorAnswer(400, "query parameter limit must be an integer from 1 to 10000, got '" +
                                  s.substr(0, 40) + "'");
    }
  }
  std::string source;
  Result<config::PipelineConfig> config = SnapshotConfig(p, &source);
  if (!config.has_value()) return ErrorAnswer(404, config.error().message());
  std::string note;
  Result<std::vector<StoredDeadLetter>> dead =
      ReadDeadLetters(*config, {.limit = limit, .batch_id = std::nullopt}, &note);
  if (!dead.has_value()) return ErrorAnswer(500, dead.error().message());
  JsonWriter w;
  w.BeginObject().Key("dead_letters").BeginArray();
  for (const StoredDeadLetter& d : *dead) {
    w.BeginObject()
        .Member("batch_id", d.batch_id)
        .Member("partition", d.partition)
        .Member("offset", d.offset)
        .Member("error", d.error)
        .Member("raw", d.raw)
        .EndObject();
  }
  w.EndArray().Member("note", note).EndObject();
  return ApiAnswer{200, "application/json", w.Take() + "\n"};
}

ApiAnswer UiApi::State(const PipelineEntry& p) const {
  Result<std::vector<OperatorState>> ops = ReadStateSummary(p.checkpoint_dir);
  if (!ops.has_value()) return ErrorAnswer(500, ops.error().ToString());
  // The operators' names come from the config: a TOML pipeline's state is its aggregate.
  std::string source;
  Result<config::PipelineConfig> config = SnapshotConfig(p, &source);
  std::string aggregate;
  if (config.has_value()) {
    for (const config::TransformConfig& t : config->transforms) {
      if (t.type != config::TransformConfig::Type::kAggregate) continue;
      aggregate = "aggregate by";
      for (const std::string& k : t.aggregate.key) aggregate += " " + k;
      if (t.aggregate.windowed) aggregate += " (windowed)";
    }
  }
  const PipelineView v = LoadPipelineView(p, live(), 1, cache_.get());
  int64_t watermark = checkpoint::kNoWatermark;
  if (v.checkpoint && v.checkpoint->last_intent)
    watermark = v.checkpoint->last_intent->watermark_ms;
  JsonWriter w;
  w.BeginObject().Key("operators").BeginArray();
  for (const OperatorState& o : *ops) {
    w.BeginObject()
        .Member("name", !aggregate.empty() ? aggregate : "operator " + std::to_string(o.op))
        .Member("op", o.op)
        .Member("keys", o.keys)
        .Member("bytes", o.bytes)
        .Member("exact", o.exact);
    w.Key("watermark_ms");
    if (watermark != checkpoint::kNoWatermark) {
      w.Int(watermark);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  return ApiAnswer{200, "application/json", w.Take() + "\n"};
}

}  // namespace onceflow::ui
