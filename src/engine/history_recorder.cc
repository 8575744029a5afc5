// HistoryRecorder: building a BatchRecord from a batch's steps.
#include "engine/history_recorder.h"

#include <algorithm>

namespace onceflow::engine {
namespace {

// Committed batches the process rate is taken over (the drain estimate).
constexpr size_t kRecentBatches = 10;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t Micros(HistoryRecorder::Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

}  // namespace

std::unique_ptr<HistoryRecorder> HistoryRecorder::Open(const std::string& checkpoint_dir,
                                                       const config::HistoryConfig& config,
                                                       LogFn log) {
  if (!config.enabled) return nullptr;
  history::HistoryWriterOptions options{.max_batches = config.max_batches, .log = log};
  Result<std::unique_ptr<history::HistoryWriter>> writer =
      history::HistoryWriter::Open(checkpoint_dir, std::move(options));
  if (!writer.has_value()) {
    if (log && history::FirstTimeOff(history::HistoryDir(checkpoint_dir))) {
      log(history::HistoryOffLine(writer.error()));
    }
    return nullptr;
  }
  return std::unique_ptr<HistoryRecorder>(new HistoryRecorder(std::move(*writer)));
}

void HistoryRecorder::Planned(int64_t trigger_time_ms, int64_t start_time_ms,
                              Clock::duration planning, std::vector<Offset> end) {
  planned_ = true;
  trigger_time_ms_ = trigger_time_ms;
  start_time_ms_ = start_time_ms;
  planning_ = planning;
  end_ = std::move(end);
}

void HistoryRecorder::BeginBatch(const checkpoint::BatchIntent& intent, bool replayed) {
  if (!planned_) {
    // Re-run at recovery, or a batch the driver does not plan (closing windows): due and
    // started now, planned by nobody.
    trigger_time_ms_ = start_time_ms_ = WallMs();
    planning_ = {};
  }
  planned_ = false;  // Planned tells of the next batch
  intent_ = intent;
  replayed_ = replayed;
  intent_took_ = {};
}

void HistoryRecorder::BeginAttempt(int attempt) {
  attempt_ = BatchRecord();
  last_timestamp_ms_.clear();
  attempt_.retries = attempt - 1;
  visibility_ = history::VisibilitySketch(WallMs());
}

void HistoryRecorder::AddPhase(Phase phase, Clock::duration took) {
  PhaseDurations& p = attempt_.phases;
  switch (phase) {
    case Phase::kPlanning: planning_ += took; break;
    case Phase::kIntent: intent_took_ += took; break;
    case Phase::kCompute: p.compute_us += Micros(took); break;
    case Phase::kSinkCommit: p.sink_commit_us += Micros(took); break;
    case Phase::kStateCommit: p.state_commit_us += Micros(took); break;
    case Phase::kCommitRecord: p.commit_record_us += Micros(took); break;
  }
}

void HistoryRecorder::Computed(std::span<const TaskOutput> outputs,
                               std::span<const OffsetRange> task_ranges, int64_t records_in,
                               int64_t rows_out, int64_t dead_letters, int64_t late) {
  attempt_.records_in = records_in;
  attempt_.rows_out = rows_out;
  attempt_.dead_letters = dead_letters;
  attempt_.late_records = late;
  for (size_t t = 0; t < outputs.size(); ++t) {
    visibility_.Merge(outputs[t].visibility);
    if (t < task_ranges.size() && outputs[t].last_timestamp_ms >= 0) {
      const auto p = static_cast<size_t>(task_ranges[t].partition.value());
      if (last_timestamp_ms_.size() <= p) last_timestamp_ms_.resize(p + 1, -1);
      last_timestamp_ms_[p] = outputs[t].last_timestamp_ms;
    }
    for (const TaskAttemptRecord& a : outputs[t].attempts) {
      TaskAttemptRecord& r = attempt_.tasks.emplace_back(a);
      r.task = static_cast<int32_t>(t);
      r.partition = t < task_ranges.size() ? task_ranges[t].partition.value() : -1;
    }
  }
}

void HistoryRecorder::FailedTasks(std::vector<TaskAttemptRecord> attempts,
                                  std::span<const OffsetRange> task_ranges) {
  for (TaskAttemptRecord& a : attempts) {
    const auto t = static_cast<size_t>(a.task);
    a.partition = t < task_ranges.size() ? task_ranges[t].partition.value() : -1;
    attempt_.tasks.push_back(std::move(a));
  }
}

void HistoryRecorder::EndAttempt(const Status& s, Epoch epoch) {
  BatchRecord& r = attempt_;
  r.batch_id = intent_.batch.value();
  r.epoch = epoch.value();
  r.batch_time_ms = intent_.batch_time_ms;
  r.trigger_time_ms = trigger_time_ms_;
  r.start_time_ms = start_time_ms_;
  r.end_time_ms = WallMs();
  r.outcome = s.ok() ? "committed" : s.code() == StatusCode::kFenced ? "fenced" : "failed";
  if (!s.ok()) r.error = s.ToString();
  r.replayed = replayed_;
  r.phases.planning_us = Micros(planning_);
  r.phases.intent_us = Micros(intent_took_);
  for (const TaskAttemptRecord& t : r.tasks) {
    ++r.task_attempts;
    if (t.outcome == "failed") ++r.task_failures;
    if (t.outcome == "fenced") ++r.fenced_attempts;
    if (t.speculative) ++r.speculative_attempts;
  }
  r.scheduling_delay_ms = std::max<int64_t>(0, r.start_time_ms - r.trigger_time_ms);
  r.processing_ms = std::max<int64_t>(0, r.end_time_ms - r.start_time_ms);
  r.total_delay_ms = std::max<int64_t>(0, r.end_time_ms - r.trigger_time_ms);
  if (s.ok()) {
    const history::VisibilitySketch::Latency l = visibility_.LatencyAt(r.end_time_ms);
    r.visibility_p50_ms = l.p50_ms;
    r.visibility_p99_ms = l.p99_ms;
    r.visibility_max_ms = l.max_ms;
    recent_.emplace_back(r.records_in, r.processing_ms);
    if (recent_.size() > kRecentBatches) recent_.pop_front();
  }
  FillPartitions(intent_, &r);
  writer_->Append(r);
  attempt_ = BatchRecord();
}

void HistoryRecorder::RecordRecovered(const checkpoint::BatchIntent& intent, Epoch epoch,
                                      bool replayed) {
  BatchRecord r;
  r.batch_id = intent.batch.value();
  r.epoch = epoch.value();
  r.batch_time_ms = intent.batch_time_ms;
  r.trigger_time_ms = r.start_time_ms = r.end_time_ms = WallMs();
  r.outcome = "committed";
  r.replayed = replayed;
  r.reconstructed = true;
  for (const OffsetRange& range : intent.ranges) r.records_in += range.size();
  r.rows_out = -1;  // unknown: the output was written by a process that is gone
  FillPartitions(intent, &r);
  writer_->Append(r);
}

double HistoryRecorder::RecentProcessRate() const {
  int64_t records = 0, ms = 0;
  for (const auto& [n, took] : recent_) {
    records += n;
    ms += took;
  }
  if (records == 0) return 0;
  return static_cast<double>(records) * 1000.0 / static_cast<double>(std::max<int64_t>(ms, 1));
}

void HistoryRecorder::FillPartitions(const checkpoint::BatchIntent& intent,
                                     BatchRecord* record) const {
  const double rate = RecentProcessRate();
  record->partitions.reserve(intent.ranges.size());
  for (const OffsetRange& range : intent.ranges) {
    PartitionProgress& p = record->partitions.emplace_back();
    p.partition = range.partition.value();
    p.from = range.from.value();
    p.until = range.until.value();
    const auto i = static_cast<size_t>(range.partition.value());
    if (&intent == &intent_ && i < end_.size()) {
      p.end_offset = std::max(end_[i].value(), p.until);
      p.lag_records = p.end_offset - p.until;
      // The age of the last record the batch read: the first unread record is younger, so this
      // bounds its age from above (reading it would cost a read of the source per partition).
      const int64_t last_ts = i < last_timestamp_ms_.size() ? last_timestamp_ms_[i] : -1;
      p.lag_seconds =
          p.lag_records == 0 ? 0
          : last_ts >= 0
              ? static_cast<double>(std::max<int64_t>(0, record->end_time_ms - last_ts)) / 1000.0
              : -1;
      p.drain_eta_seconds = p.lag_records == 0 ? 0
                            : rate > 0         ? static_cast<double>(p.lag_records) / rate
                                               : -1;
    } else {
      p.end_offset = -1;  // not looked at (a batch re-run or reconstructed at recovery)
      p.lag_records = -1;
      p.lag_seconds = -1;
      p.drain_eta_seconds = -1;
    }
  }
}

}  // namespace onceflow::engine
