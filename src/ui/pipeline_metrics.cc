// AddPipelineMetrics: counters summed over the history's records, histograms of its phase
// durations and delays, gauges of the newest batch and the checkpoint.
#include "ui/pipeline_metrics.h"

#include <algorithm>
#include <array>
#include <map>

namespace onceflow::ui {
namespace {

// Seconds: from 1 ms to 2 minutes.
constexpr std::array<double, 15> kSecondsBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120};

}  // namespace

void AddPipelineMetrics(const PipelineView& v, PrometheusText* out) {
  const Labels pipeline = {{"pipeline", v.name}};
  int64_t committed = 0, replayed = 0, fenced = 0, failed = 0, records_in = 0, rows_out = 0,
          dead_letters = 0, late = 0, retries = 0, mismatches = 0;
  std::map<std::string, int64_t> attempts = {
      {"won", 0}, {"failed", 0}, {"speculative_lost", 0}, {"fenced", 0}};
  std::map<std::string, std::vector<double>> phases;
  std::vector<double> scheduling, processing, total, visibility_p50, visibility_p99;
  for (const BatchRecord& b : v.history) {
    for (const TaskAttemptRecord& t : b.tasks) ++attempts[t.outcome];
    if (b.outcome == "fenced") ++fenced;
    if (b.outcome == "failed") ++failed;
    mismatches += b.replay_mismatches;  // failed attempts too: on_replay_mismatch = "fail"
    if (b.outcome != "committed") continue;
    ++committed;
    if (b.replayed) ++replayed;
    records_in += b.records_in;
    rows_out += std::max<int64_t>(0, b.rows_out);  // -1: unknown (a reconstructed record)
    dead_letters += b.dead_letters;
    late += b.late_records;
    retries += b.retries;
    const PhaseDurations& p = b.phases;
    phases["planning"].push_back(p.planning_us / 1e6);
    phases["intent"].push_back(p.intent_us / 1e6);
    phases["compute"].push_back(p.compute_us / 1e6);
    phases["sink_commit"].push_back(p.sink_commit_us / 1e6);
    phases["state_commit"].push_back(p.state_commit_us / 1e6);
    phases["commit_record"].push_back(p.commit_record_us / 1e6);
    scheduling.push_back(b.scheduling_delay_ms / 1e3);
    processing.push_back(b.processing_ms / 1e3);
    total.push_back(b.total_delay_ms / 1e3);
    if (b.visibility_p50_ms >= 0) visibility_p50.push_back(b.visibility_p50_ms / 1e3);
    if (b.visibility_p99_ms >= 0) visibility_p99.push_back(b.visibility_p99_ms / 1e3);
  }

  out->Gauge("onceflow_pipeline_up",
             "1 while a process runs the pipeline (holds its checkpoint's lock), else 0.", pipeline,
             v.running ? 1 : 0);
  out->Gauge("onceflow_pipeline_failing",
             "1 when the pipeline's newest batch attempt failed (retrying, or stopped on it).",
             pipeline, v.status == "failing" ? 1 : 0);
  out->Gauge("onceflow_pipeline_history_batches",
             "Batch records the history holds (the counters below sum over them).", pipeline,
             static_cast<double>(v.history.size()));
  out->Counter("onceflow_pipeline_batches_committed_total", "Batches committed.", pipeline,
               committed);
  out->Counter("onceflow_pipeline_batches_replayed_total",
               "Committed batches that were re-runs of an unfinished batch at recovery.", pipeline,
               replayed);
  out->Counter("onceflow_pipeline_batches_fenced_total",
               "Batches refused because a newer owner fenced them (scale-out).", pipeline, fenced);
  out->Counter("onceflow_pipeline_batches_failed_total",
               "Batch attempts that failed (each is retried, up to max_batch_failures).", pipeline,
               failed);
  out->Counter("onceflow_pipeline_records_in_total", "Source records read by committed batches.",
               pipeline, records_in);
  out->Counter("onceflow_pipeline_rows_out_total",
               "Rows committed to the sink by committed batches.", pipeline, rows_out);
  out->Counter("onceflow_pipeline_dead_letters_total",
               "Records sent to the dead letters by committed batches.", pipeline, dead_letters);
  out->Counter("onceflow_pipeline_late_records_total",
               "Records older than the watermark (dead-lettered) in committed batches.", pipeline,
               late);
  out->Counter("onceflow_pipeline_batch_retries_total", "Retries of batches that then committed.",
               pipeline, retries);
  out->Counter("onceflow_pipeline_replay_mismatches_total",
               "Re-run tasks whose output differed from the output the sink had committed for "
               "them (a non-deterministic transform or function).",
               pipeline, mismatches);
  for (const auto& [outcome, n] : attempts) {
    Labels l = pipeline;
    l.emplace_back("outcome", outcome);
    out->Counter("onceflow_pipeline_task_attempts_total",
                 "Task attempts by outcome: won, failed, speculative_lost, fenced.", l, n);
  }
  for (const char* phase :
       {"planning", "intent", "compute", "sink_commit", "state_commit", "commit_record"}) {
    Labels l = pipeline;
    l.emplace_back("phase", phase);
    out->Histogram("onceflow_pipeline_phase_duration_seconds",
                   "Duration of each commit-protocol phase of the committed batches.", l,
                   kSecondsBuckets, phases[phase]);
  }
  out->Histogram("onceflow_pipeline_batch_scheduling_delay_seconds",
                 "From the moment a batch was due to the start of its planning.", pipeline,
                 kSecondsBuckets, scheduling);
  out->Histogram("onceflow_pipeline_batch_processing_seconds",
                 "From the start of a batch's planning to its durable commit record.", pipeline,
                 kSecondsBuckets, processing);
  out->Histogram("onceflow_pipeline_batch_total_delay_seconds",
                 "From the moment a batch was due to its durable commit record.", pipeline,
                 kSecondsBuckets, total);
  out->Histogram("onceflow_pipeline_batch_visibility_p50_seconds",
                 "Per committed batch, the median over its records of the time from the "
                 "record's timestamp to the batch's commit (end-to-end visibility latency).",
                 pipeline, kSecondsBuckets, visibility_p50);
  out->Histogram("onceflow_pipeline_batch_visibility_p99_seconds",
                 "Per committed batch, the 99th percentile over its records of the time from "
                 "the record's timestamp to the batch's commit.",
                 pipeline, kSecondsBuckets, visibility_p99);
  const BatchRecord* last = LastCommitted(v.history);
  if (last != nullptr) {
    out->Gauge("onceflow_pipeline_last_committed_batch", "The newest committed batch id.", pipeline,
               last->batch_id);
    out->Gauge("onceflow_pipeline_last_commit_timestamp_seconds",
               "Wall-clock time of the newest batch's durable commit record.", pipeline,
               last->end_time_ms / 1e3);
    for (const PartitionProgress& p : last->partitions) {
      Labels l = pipeline;
      l.emplace_back("partition", std::to_string(p.partition));
      out->Gauge("onceflow_pipeline_lag_records",
                 "Records of the partition not yet read when the newest batch was planned.", l,
                 p.lag_records);
      if (p.lag_seconds >= 0) {
        out->Gauge("onceflow_pipeline_lag_seconds",
                   "Age of the partition's oldest unread record when the newest batch was "
                   "planned.",
                   l, p.lag_seconds);
      }
    }
  }
  if (v.checkpoint) {
    out->Gauge("onceflow_pipeline_epoch", "The fencing epoch of the pipeline's newest driver.",
               pipeline, v.checkpoint->epoch.value());
  }
  if (v.live) {
    const PipelineStats& s = *v.live;
    out->Counter("onceflow_run_batches_committed_total",
                 "Batches this process committed since it started.", pipeline, s.batches_committed);
    out->Counter("onceflow_run_records_in_total",
                 "Source records this process read in winning task attempts since it started.",
                 pipeline, s.records_in);
    out->Counter("onceflow_run_rows_out_total",
                 "Rows this process handed to the sink since it started.", pipeline, s.rows_out);
    out->Counter("onceflow_run_task_attempts_total",
                 "Task attempts this process ran since it started.", pipeline, s.task_attempts);
    out->Counter("onceflow_run_task_failures_total",
                 "Failed task attempts in this process since it started.", pipeline,
                 s.task_failures);
  }
}

}  // namespace onceflow::ui
