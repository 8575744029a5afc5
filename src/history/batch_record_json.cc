// BatchRecord <-> JSON: the API's representation of a history record and the payload of each
// record in the history files (docs/formats/history.md).
#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <iterator>

#include "onceflow/batch_history.h"
#include "util/json_escape.h"

namespace onceflow {

namespace {

// Appends `"name":value,` (the caller drops the last comma).
void Field(std::string* out, std::string_view name, int64_t v) {
  fmt::format_to(std::back_inserter(*out), "\"{}\":{},", name, v);
}
void Field(std::string* out, std::string_view name, double v) {
  // JSON has no NaN or infinity: an undefined figure is -1, as for "unknown".
  if (!std::isfinite(v)) v = -1;
  fmt::format_to(std::back_inserter(*out), "\"{}\":{},", name, v);
}
void Field(std::string* out, std::string_view name, bool v) {
  fmt::format_to(std::back_inserter(*out), "\"{}\":{},", name, v ? "true" : "false");
}
void Field(std::string* out, std::string_view name, std::string_view v) {
  fmt::format_to(std::back_inserter(*out), "\"{}\":", name);
  // Replaced, not kept: a record with bad UTF-8 would not parse back (docs/formats/history.md).
  AppendJsonString(out, v, InvalidUtf8::kReplace);
  out->push_back(',');
}
void Field(std::string* out, std::string_view name, int32_t v) {
  Field(out, name, static_cast<int64_t>(v));
}
void Field(std::string* out, std::string_view name, const std::string& v) {
  Field(out, name, std::string_view(v));
}

void CloseObject(std::string* out) {
  if (out->back() == ',') out->pop_back();
  out->push_back('}');
}

// Reads one JSON object's fields into a struct. Each Get* leaves the target alone when the field
// is missing (a record written before the field existed) and fails on a field of the wrong type.
class ObjectReader {
 public:
  ObjectReader(simdjson::dom::object object, std::string_view where)
      : object_(object), where_(where) {}

  Status Get(std::string_view name, int64_t* v) {
    simdjson::dom::element e;
    if (object_[name].get(e)) return Status::Ok();
    if (e.is_int64()) {
      *v = e.get_int64().value_unsafe();
      return Status::Ok();
    }
    if (e.is_double()) {  // a writer may grow a figure to a double; the integer part is kept
      *v = static_cast<int64_t>(e.get_double().value_unsafe());
      return Status::Ok();
    }
    return Bad(name, "a number");
  }
  Status Get(std::string_view name, int32_t* v) {
    int64_t wide = *v;
    ONCEFLOW_RETURN_IF_ERROR(Get(name, &wide));
    *v = static_cast<int32_t>(wide);
    return Status::Ok();
  }
  Status Get(std::string_view name, double* v) {
    simdjson::dom::element e;
    if (object_[name].get(e)) return Status::Ok();
    if (e.is_number()) {
      double d = 0;
      if (!e.get_double().get(d)) {
        *v = d;
      } else if (e.is_int64()) {
        *v = static_cast<double>(e.get_int64().value_unsafe());
      } else {
        *v = static_cast<double>(e.get_uint64().value_unsafe());
      }
      return Status::Ok();
    }
    return Bad(name, "a number");
  }
  Status Get(std::string_view name, bool* v) {
    simdjson::dom::element e;
    if (object_[name].get(e)) return Status::Ok();
    if (!e.is_bool()) return Bad(name, "true or false");
    *v = e.get_bool().value_unsafe();
    return Status::Ok();
  }
  Status Get(std::string_view name, std::string* v) {
    simdjson::dom::element e;
    if (object_[name].get(e)) return Status::Ok();
    if (!e.is_string()) return Bad(name, "a string");
    *v = std::string(e.get_string().value_unsafe());
    return Status::Ok();
  }
  // Sets *found and *a to the array `name`; *found is false when it is missing.
  Status GetArray(std::string_view name, bool* found, simdjson::dom::array* a) {
    simdjson::dom::element e;
    *found = false;
    if (object_[name].get(e)) return Status::Ok();
    if (e.get_array().get(*a)) return Bad(name, "an array");
    *found = true;
    return Status::Ok();
  }
  Status GetObject(std::string_view name, bool* found, simdjson::dom::object* o) {
    simdjson::dom::element e;
    *found = false;
    if (object_[name].get(e)) return Status::Ok();
    if (e.get_object().get(*o)) return Bad(name, "an object");
    *found = true;
    return Status::Ok();
  }

 private:
  Status Bad(std::string_view name, std::string_view want) const {
    return Status::Corruption(
        fmt::format("history record: field {}{} is not {}", where_, name, want));
  }

  simdjson::dom::object object_;
  std::string_view where_;
};

Status ReadPhases(simdjson::dom::object o, PhaseDurations* p) {
  ObjectReader r(o, "phases.");
  ONCEFLOW_RETURN_IF_ERROR(r.Get("planning_us", &p->planning_us));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("intent_us", &p->intent_us));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("compute_us", &p->compute_us));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("sink_commit_us", &p->sink_commit_us));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("state_commit_us", &p->state_commit_us));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("commit_record_us", &p->commit_record_us));
  return Status::Ok();
}

Status ReadPartition(simdjson::dom::element e, PartitionProgress* p) {
  simdjson::dom::object o;
  if (e.get_object().get(o)) {
    return Status::Corruption("history record: an element of partitions is not an object");
  }
  ObjectReader r(o, "partitions[].");
  ONCEFLOW_RETURN_IF_ERROR(r.Get("partition", &p->partition));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("from", &p->from));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("until", &p->until));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("end_offset", &p->end_offset));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("lag_records", &p->lag_records));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("lag_seconds", &p->lag_seconds));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("drain_eta_seconds", &p->drain_eta_seconds));
  return Status::Ok();
}

Status ReadTask(simdjson::dom::element e, TaskAttemptRecord* t) {
  simdjson::dom::object o;
  if (e.get_object().get(o)) {
    return Status::Corruption("history record: an element of tasks is not an object");
  }
  ObjectReader r(o, "tasks[].");
  ONCEFLOW_RETURN_IF_ERROR(r.Get("task", &t->task));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("partition", &t->partition));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("attempt", &t->attempt));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("outcome", &t->outcome));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("duration_us", &t->duration_us));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("error", &t->error));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("speculative", &t->speculative));
  return Status::Ok();
}

}  // namespace

std::string BatchRecordToJson(const BatchRecord& b) {
  std::string out;
  out.reserve(512 + 160 * b.partitions.size() + 120 * b.tasks.size());
  out.push_back('{');
  Field(&out, "batch_id", b.batch_id);
  Field(&out, "epoch", b.epoch);
  Field(&out, "batch_time_ms", b.batch_time_ms);
  Field(&out, "trigger_time_ms", b.trigger_time_ms);
  Field(&out, "start_time_ms", b.start_time_ms);
  Field(&out, "end_time_ms", b.end_time_ms);
  Field(&out, "outcome", b.outcome);
  Field(&out, "error", b.error);
  Field(&out, "replayed", b.replayed);
  Field(&out, "reconstructed", b.reconstructed);
  Field(&out, "records_in", b.records_in);
  Field(&out, "rows_out", b.rows_out);
  Field(&out, "dead_letters", b.dead_letters);
  Field(&out, "late_records", b.late_records);
  Field(&out, "retries", b.retries);
  Field(&out, "replay_mismatches", b.replay_mismatches);
  Field(&out, "task_attempts", b.task_attempts);
  Field(&out, "task_failures", b.task_failures);
  Field(&out, "speculative_attempts", b.speculative_attempts);
  Field(&out, "fenced_attempts", b.fenced_attempts);
  out += "\"phases\":{";
  Field(&out, "planning_us", b.phases.planning_us);
  Field(&out, "intent_us", b.phases.intent_us);
  Field(&out, "compute_us", b.phases.compute_us);
  Field(&out, "sink_commit_us", b.phases.sink_commit_us);
  Field(&out, "state_commit_us", b.phases.state_commit_us);
  Field(&out, "commit_record_us", b.phases.commit_record_us);
  CloseObject(&out);
  out.push_back(',');
  Field(&out, "scheduling_delay_ms", b.scheduling_delay_ms);
  Field(&out, "processing_ms", b.processing_ms);
  Field(&out, "total_delay_ms", b.total_delay_ms);
  Field(&out, "visibility_p50_ms", b.visibility_p50_ms);
  Field(&out, "visibility_p99_ms", b.visibility_p99_ms);
  Field(&out, "visibility_max_ms", b.visibility_max_ms);
  out += "\"partitions\":[";
  for (const PartitionProgress& p : b.partitions) {
    out.push_back('{');
    Field(&out, "partition", p.partition);
    Field(&out, "from", p.from);
    Field(&out, "until", p.until);
    Field(&out, "end_offset", p.end_offset);
    Field(&out, "lag_records", p.lag_records);
    Field(&out, "lag_seconds", p.lag_seconds);
    Field(&out, "drain_eta_seconds", p.drain_eta_seconds);
    CloseObject(&out);
    out.push_back(',');
  }
  if (out.back() == ',') out.pop_back();
  out += "],\"tasks\":[";
  for (const TaskAttemptRecord& t : b.tasks) {
    out.push_back('{');
    Field(&out, "task", t.task);
    Field(&out, "partition", t.partition);
    Field(&out, "attempt", t.attempt);
    Field(&out, "outcome", t.outcome);
    Field(&out, "duration_us", t.duration_us);
    Field(&out, "error", t.error);
    Field(&out, "speculative", t.speculative);
    CloseObject(&out);
    out.push_back(',');
  }
  if (out.back() == ',') out.pop_back();
  out += "]}";
  return out;
}

Result<BatchRecord> BatchRecordFromJson(std::string_view json) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the input: parse a padded copy.
  simdjson::padded_string padded(json);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto error = parser.parse(padded).get(doc); error) {
    return Err(Status::Corruption(std::string("history record: malformed JSON: ") +
                                  simdjson::error_message(error)));
  }
  simdjson::dom::object top;
  if (doc.get_object().get(top)) {
    return Err(Status::Corruption("history record: not a JSON object"));
  }
  BatchRecord b;
  ObjectReader r(top, "");
  ONCEFLOW_RETURN_IF_ERROR(r.Get("batch_id", &b.batch_id));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("epoch", &b.epoch));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("batch_time_ms", &b.batch_time_ms));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("trigger_time_ms", &b.trigger_time_ms));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("start_time_ms", &b.start_time_ms));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("end_time_ms", &b.end_time_ms));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("outcome", &b.outcome));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("error", &b.error));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("replayed", &b.replayed));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("reconstructed", &b.reconstructed));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("records_in", &b.records_in));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("rows_out", &b.rows_out));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("dead_letters", &b.dead_letters));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("late_records", &b.late_records));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("retries", &b.retries));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("replay_mismatches", &b.replay_mismatches));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("task_attempts", &b.task_attempts));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("task_failures", &b.task_failures));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("speculative_attempts", &b.speculative_attempts));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("fenced_attempts", &b.fenced_attempts));
  bool found = false;
  simdjson::dom::object phases;
  ONCEFLOW_RETURN_IF_ERROR(r.GetObject("phases", &found, &phases));
  if (found) ONCEFLOW_RETURN_IF_ERROR(ReadPhases(phases, &b.phases));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("scheduling_delay_ms", &b.scheduling_delay_ms));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("processing_ms", &b.processing_ms));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("total_delay_ms", &b.total_delay_ms));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("visibility_p50_ms", &b.visibility_p50_ms));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("visibility_p99_ms", &b.visibility_p99_ms));
  ONCEFLOW_RETURN_IF_ERROR(r.Get("visibility_max_ms", &b.visibility_max_ms));
  simdjson::dom::array partitions;
  ONCEFLOW_RETURN_IF_ERROR(r.GetArray("partitions", &found, &partitions));
  if (found) {
    for (simdjson::dom::element e : partitions) {
      ONCEFLOW_RETURN_IF_ERROR(ReadPartition(e, &b.partitions.emplace_back()));
    }
  }
  simdjson::dom::array tasks;
  ONCEFLOW_RETURN_IF_ERROR(r.GetArray("tasks", &found, &tasks));
  if (found) {
    for (simdjson::dom::element e : tasks) {
      ONCEFLOW_RETURN_IF_ERROR(ReadTask(e, &b.tasks.emplace_back()));
    }
  }
  return b;
}

}  // namespace onceflow
