// WriteBatchRecord and its parts.
#include "ui/batch_json.h"

namespace onceflow::ui {

void WritePhases(JsonWriter& w, const PhaseDurations& p) {
  w.BeginObject()
      .Member("planning_us", p.planning_us)
      .Member("intent_us", p.intent_us)
      .Member("compute_us", p.compute_us)
      .Member("sink_commit_us", p.sink_commit_us)
      .Member("state_commit_us", p.state_commit_us)
      .Member("commit_record_us", p.commit_record_us)
      .EndObject();
}

void WritePartitionProgress(JsonWriter& w, const PartitionProgress& p) {
  w.BeginObject()
      .Member("partition", p.partition)
      .Member("from", p.from)
      .Member("until", p.until)
      .Member("end_offset", p.end_offset)
      .Member("lag_records", p.lag_records)
      .Member("lag_seconds", p.lag_seconds)
      .Member("drain_eta_seconds", p.drain_eta_seconds)
      .EndObject();
}

void WriteBatchRecord(JsonWriter& w, const BatchRecord& b, bool with_tasks) {
  w.BeginObject()
      .Member("batch_id", b.batch_id)
      .Member("epoch", b.epoch)
      .Member("batch_time_ms", b.batch_time_ms)
      .Member("trigger_time_ms", b.trigger_time_ms)
      .Member("start_time_ms", b.start_time_ms)
      .Member("end_time_ms", b.end_time_ms)
      .Member("outcome", b.outcome)
      .Member("error", b.error)
      .Member("replayed", b.replayed)
      .Member("reconstructed", b.reconstructed)
      .Member("records_in", b.records_in)
      .Member("rows_out", b.rows_out)
      .Member("dead_letters", b.dead_letters)
      .Member("late_records", b.late_records)
      .Member("retries", b.retries)
      .Member("task_attempts", b.task_attempts)
      .Member("task_failures", b.task_failures)
      .Member("speculative_attempts", b.speculative_attempts)
      .Member("fenced_attempts", b.fenced_attempts);
  w.Key("phases");
  WritePhases(w, b.phases);
  w.Member("scheduling_delay_ms", b.scheduling_delay_ms)
      .Member("processing_ms", b.processing_ms)
      .Member("total_delay_ms", b.total_delay_ms)
      .Member("visibility_p50_ms", b.visibility_p50_ms)
      .Member("visibility_p99_ms", b.visibility_p99_ms)
      .Member("visibility_max_ms", b.visibility_max_ms);
  w.Key("partitions").BeginArray();
  for (const PartitionProgress& p : b.partitions) WritePartitionProgress(w, p);
  w.EndArray();
  if (with_tasks) {
    w.Key("tasks").BeginArray();
    for (const TaskAttemptRecord& t : b.tasks) {
      w.BeginObject()
          .Member("task", t.task)
          .Member("partition", t.partition)
          .Member("attempt", t.attempt)
          .Member("outcome", t.outcome)
          .Member("duration_us", t.duration_us)
          .Member("error", t.error)
          .EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

}  // namespace onceflow::ui
