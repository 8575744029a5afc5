// The engine's reports as dicts, key for key the fields of PipelineStats, PipelineStatus and
// VerifyReport.
#include "reports.h"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

namespace onceflow::python {

namespace {

nb::object OptionalInt(bool has, int64_t v) { return has ? nb::cast(v) : nb::none(); }

}  // namespace

nb::list Ranges(std::span<const OffsetRange> ranges) {
  nb::list l;
  for (const OffsetRange& r : ranges) {
    l.append(nb::make_tuple(r.partition.value(), r.from.value(), r.until.value()));
  }
  return l;
}

nb::dict StatsDict(const PipelineStats& s) {
  nb::dict d;
  d["batches_committed"] = s.batches_committed;
  d["batches_replayed"] = s.batches_replayed;
  d["batches_fenced"] = s.batches_fenced;
  d["records_in"] = s.records_in;
  d["header_records"] = s.header_records;
  d["rows_out"] = s.rows_out;
  d["dead_letters"] = s.dead_letters;
  d["task_attempts"] = s.task_attempts;
  d["task_failures"] = s.task_failures;
  d["speculative_attempts"] = s.speculative_attempts;
  d["batch_retries"] = s.batch_retries;
  d["already_committed"] = s.already_committed;
  d["replay_mismatches"] = s.replay_mismatches;
  d["late_records"] = s.late_records;
  d["records_reprocessed"] = s.records_reprocessed;
  d["last_batch"] = s.last_batch.value();
  return d;
}

nb::dict StatusDict(const PipelineStatus& s) {
  nb::dict d;
  d["pipeline"] = s.pipeline;
  d["checkpoint_dir"] = s.checkpoint_dir;
  d["last_intent"] =
      OptionalInt(s.last_intent.has_value(), s.last_intent.value_or(BatchId(0)).value());
  d["epoch"] = s.epoch.value();
  d["last_committed"] =
      OptionalInt(s.last_committed.has_value(), s.last_committed.value_or(BatchId(0)).value());
  if (s.unfinished) {
    nb::dict u;
    u["batch"] = s.unfinished->batch.value();
    u["ranges"] = Ranges(s.unfinished->ranges);
    d["unfinished"] = u;
  } else {
    d["unfinished"] = nb::none();
  }
  d["source"] = s.source;
  d["source_partitions"] = s.source_partitions;
  d["refusal"] =
      s.refusal.ok() ? nb::object(nb::none()) : nb::object(nb::str(s.refusal.message().c_str()));
  nb::list parts;
  for (const PartitionStatus& p : s.partitions) {
    nb::dict e;
    e["partition"] = p.partition.value();
    e["committed"] = OptionalInt(p.committed.has_value(), p.committed.value_or(Offset(0)).value());
    e["earliest"] = p.earliest.value();
    e["end"] = p.end.value();
    e["lag"] = p.lag;
    parts.append(e);
  }
  d["partitions"] = parts;
  d["total_committed"] = s.total_committed;
  d["total_end"] = s.total_end;
  d["total_lag"] = s.total_lag;
  nb::list sink;
  for (const SinkTaskProgress& t : s.sink_progress) {
    nb::dict e;
    e["task"] = t.task;
    e["last_batch"] = t.last_batch.value();
    e["epoch"] = t.epoch.value();
    e["ranges"] = Ranges(t.ranges);
    sink.append(e);
  }
  d["sink_progress"] = sink;
  d["sink_error"] = s.sink_error.ok() ? nb::object(nb::none())
                                      : nb::object(nb::str(s.sink_error.message().c_str()));
  return d;
}

nb::dict VerifyDict(const VerifyReport& r) {
  nb::dict d;
  d["ok"] = r.ok();
  d["first_violation"] = r.first_violation();
  d["violations"] = r.violations;
  d["summary"] = r.summary;
  d["progress_rows"] = r.progress_rows;
  d["partitions_checked"] = r.partitions_checked;
  const char* unfinished[] = {"none", "before", "after", "mixed"};
  d["unfinished"] = unfinished[static_cast<int>(r.unfinished)];
  return d;
}

}  // namespace onceflow::python
