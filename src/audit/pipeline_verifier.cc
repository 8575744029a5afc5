// PipelineVerifier: the sink's progress rows against the checkpoint's last intent.
#include "audit/pipeline_verifier.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "audit/checkpoint_state.h"
#include "audit/pipeline_source.h"
#include "checkpoint/checkpoint.h"
#include "engine/sink_factory.h"
#include "engine/source_check.h"
#include "sink/sink.h"
#include "util/file.h"

namespace onceflow::audit {
namespace {

// A progress row's claim on one partition.
struct Cover {
  int32_t task = 0;
  BatchId batch;
  OffsetRange range;
};

std::string Range(Offset from, Offset until) {
  return fmt::format("[{}, {})", from.value(), until.value());
}

std::string Describe(const Cover& c) {
  return fmt::format("task {}, batch {}, range {}", c.task, c.batch.value(),
                     Range(c.range.from, c.range.until));
}

class Verifier {
 public:
  Verifier(const config::PipelineConfig& config, const CheckpointState& cp,
           const std::map<int32_t, sink::TaskProgress>& progress,
           const std::vector<SourcePartition>& source, VerifyReport* report)
      : config_(config), cp_(cp), progress_(progress), source_(source), report_(report) {}

  void Run() {
    CheckRows();
    CheckStarts();
    const checkpoint::BatchIntent& intent = *cp_.last_intent;
    for (const OffsetRange& r : intent.ranges) CheckPartition(intent, r);
    for (const auto& [p, covers] : covers_) {
      if (static_cast<size_t>(p) >= cp_.committed.size() || cp_.committed[p].value() < 0) {
        Violation(fmt::format(
            "partition {}: the sink has output for it ({}) but the checkpoint's last intent "
            "(batch {}) does not know the partition",
            p, Describe(covers.front()), intent.batch.value()));
      }
    }
    Summarize();
  }

 private:
  void Violation(std::string text) { report_->violations.push_back(std::move(text)); }

  // Epochs, batch ids and ranges of the rows themselves; fills covers_.
  void CheckRows() {
    const int64_t last_intent = cp_.last_intent->batch.value();
    for (const auto& [task, prog] : progress_) {
      if (prog.epoch > cp_.epoch) {
        Violation(fmt::format(
            "task {}: its progress row has epoch {}, newer than the checkpoint's epoch {}", task,
            prog.epoch.value(), cp_.epoch.value()));
      }
      if (prog.last_batch.value() > last_intent) {
        Violation(fmt::format(
            "task {}: its progress row claims batch {}, newer than the checkpoint's last intent "
            "(batch {})",
            task, prog.last_batch.value(), last_intent));
      }
      if (prog.ranges.empty()) {
        Violation(fmt::format("task {}: its progress row (batch {}) has no ranges", task,
                              prog.last_batch.value()));
      }
      for (const OffsetRange& r : prog.ranges) {
        if (r.until < r.from) {
          Violation(fmt::format("partition {}: task {}'s progress row has a reversed range {}",
                                r.partition.value(), task, Range(r.from, r.until)));
        }
        covers_[r.partition.value()].push_back({task, prog.last_batch, r});
      }
    }
  }

  // The sink's output of each partition begins exactly where the pipeline started reading it
  // (the checkpoint's source.meta against the progress rows' starts). With the ends checked by
  // CheckPartition and every commit refused by the sink unless it continues the stored range
  // exactly, the output is then contiguous from the pipeline's start: a sink that lost its
  // first batches (emptied, replaced, restored) cannot verify OK.
  void CheckStarts() {
    std::map<int32_t, Offset> sink_start;  // the earliest known start among the rows
    std::set<int32_t> unknown;             // a row that committed the partition before starts
    for (const auto& [task, prog] : progress_) {
      for (const auto& [partition, start] : prog.started) {
        if (!start.has_value()) {
          unknown.insert(partition.value());
          continue;
        }
        auto [it, added] = sink_start.emplace(partition.value(), *start);
        if (!added) it->second = std::min(it->second, *start);
      }
    }
    int checked = 0, not_checked = 0;
    for (const auto& [p, start] : sink_start) {
      const Offset recorded = cp_.source ? cp_.source->StartOf(PartitionId(p)) : Offset(-1);
      if (recorded.value() < 0 || unknown.contains(p)) {
        ++not_checked;
        continue;
      }
      if (start > recorded) {
        Violation(fmt::format(
            "partition {}: gap at the pipeline's start: it started reading the partition at "
            "offset {}, but the sink's output of it begins at {}: offsets {} have no output",
            p, recorded.value(), start.value(), Range(recorded, start)));
      } else if (start < recorded) {
        Violation(fmt::format(
            "partition {}: the sink's output of it begins at offset {}, before offset {} where "
            "the pipeline started reading it: output of another run of this pipeline?",
            p, start.value(), recorded.value()));
      } else {
        ++checked;
      }
    }
    not_checked += static_cast<int>(std::count_if(
        unknown.begin(), unknown.end(), [&](int32_t p) { return !sink_start.contains(p); }));
    std::string line = fmt::format(
        "{} partition(s) checked from the pipeline's start: the sink's output begins exactly "
        "where the pipeline started reading each",
        checked);
    if (not_checked > 0) {
      line += fmt::format("; {} not checked from the start (where they started was recorded "
                          "by neither the checkpoint nor the progress rows: data from before "
                          "onceflow recorded it)",
                          not_checked);
    }
    report_->summary.push_back(line);
    if (cp_.source) {
      for (const std::string& accepted : cp_.source->accepted) {
        report_->summary.push_back("accepted deliberately, not a violation: " + accepted);
      }
    }
  }

  void CheckPartition(const checkpoint::BatchIntent& intent, const OffsetRange& r) {
    const int32_t p = r.partition.value();
    const bool read_in_batch = r.from < r.until;
    const bool open = cp_.unfinished && read_in_batch;
    const Offset committed = cp_.unfinished ? r.from : r.until;
    auto it = covers_.find(p);
    if (it == covers_.end()) {
      // Nothing of the partition was ever committed to the sink: fine only if the committed
      // offset is where the pipeline started.
      // Where the pipeline started the partition, as its checkpoint recorded it; else (a
      // checkpoint from before starts were recorded) the source's earliest offset.
      const Offset recorded = cp_.source ? cp_.source->StartOf(PartitionId(p)) : Offset(-1);
      const Offset start = recorded.value() >= 0                     ? recorded
                           : static_cast<size_t>(p) < source_.size() ? source_[p].earliest
                                                                     : Offset(0);
      if (committed > start) {
        if (recorded.value() < 0 &&
            config_.source.records().starting_offsets == config::StartingOffsets::kLatest) {
          report_->summary.push_back(fmt::format(
              "partition {}: no progress row; committed up to {} (starting_offsets = latest: "
              "where it started is not known, not checked)",
              p, committed.value()));
        } else {
          Violation(fmt::format(
              "partition {}: gap: the checkpoint has committed its offsets up to {} but no "
              "progress row in the sink covers it: the output of {} is missing",
              p, committed.value(), Range(start, committed)));
        }
      }
      if (open) ++before_;
      return;
    }
    const std::vector<Cover>& covers = it->second;
    if (covers.size() > 1) {
      Violation(fmt::format("partition {}: overlap: the progress rows of {} and {} both cover it",
                            p, Describe(covers[0]), Describe(covers[1])));
      return;
    }
    const Cover& c = covers[0];
    const Offset end = c.range.until;
    if (open) {
      if (end == r.from && c.batch < intent.batch) {
        ++before_;
      } else if (end == r.until && c.batch == intent.batch && c.range.from == r.from) {
        ++after_;
      } else {
        Violation(fmt::format(
            "partition {}: batch {} is unfinished with range {}, so the sink's output should "
            "end at its from ({}) or its until ({}), but the progress row ({}) ends at {}",
            p, intent.batch.value(), Range(r.from, r.until), r.from.value(), r.until.value(),
            Describe(c), end.value()));
      }
      return;
    }
    if (end < committed) {
      Violation(fmt::format(
          "partition {}: gap: the sink's output ends at offset {} ({}) but the checkpoint has "
          "committed up to {}: offsets {} have no output",
          p, end.value(), Describe(c), committed.value(), Range(end, committed)));
    } else if (end > committed) {
      Violation(fmt::format(
          "partition {}: overlap: the sink's output ends at offset {} ({}), past the "
          "checkpoint's committed offset {}: {} has output the checkpoint does not record",
          p, end.value(), Describe(c), committed.value(), Range(committed, end)));
    } else if (read_in_batch && (c.batch != intent.batch || c.range.from != r.from)) {
      // The last batch read this partition, so its row must be that batch's, range and all.
      Violation(fmt::format(
          "partition {}: the checkpoint's batch {} read {}, but the sink's progress row says {}", p,
          intent.batch.value(), Range(r.from, r.until), Describe(c)));
    }
  }

  void Summarize() {
    const checkpoint::BatchIntent& intent = *cp_.last_intent;
    std::string offsets;
    int64_t total = 0;
    for (size_t p = 0; p < cp_.committed.size(); ++p) {
      if (cp_.committed[p].value() < 0) continue;
      offsets += fmt::format("{}{}:{}", offsets.empty() ? "" : " ", p, cp_.committed[p].value());
      total += cp_.committed[p].value();
    }
    report_->summary.push_back(fmt::format(
        "{} progress row(s) cover {} partition(s), each exactly up to its committed offset: {} "
        "(offsets sum {})",
        progress_.size(), covers_.size(), offsets, total));
    report_->summary.push_back(fmt::format(
        "checkpoint: epoch {}, last intent batch {}, last commit batch {}; no progress row "
        "claims a later batch or epoch",
        cp_.epoch.value(), intent.batch.value(), cp_.last_committed_batch()));
    using U = VerifyReport::Unfinished;
    if (!cp_.unfinished) {
      report_->unfinished = U::kNone;
      return;
    }
    const std::string id = std::to_string(intent.batch.value());
    if (after_ > 0 && before_ > 0) {
      report_->unfinished = U::kMixed;
      report_->summary.push_back(fmt::format(
          "batch {} is unfinished: the sink holds it for {} partition(s) and not yet for {} "
          "(consistent with per-task commits); a restart re-runs it and the sink skips what it "
          "holds",
          id, after_, before_));
    } else if (after_ > 0) {
      report_->unfinished = U::kAfter;
      report_->summary.push_back("batch " + id +
                                 " is unfinished but the sink already holds it (state: at its "
                                 "until): a restart re-runs it, the sink reports it already "
                                 "committed, and the commit is recorded");
    } else {
      report_->unfinished = U::kBefore;
      report_->summary.push_back("batch " + id +
                                 " is unfinished and the sink does not hold it (state: at its "
                                 "from): a restart runs it with exactly its recorded ranges");
    }
  }

  const config::PipelineConfig& config_;
  const CheckpointState& cp_;
  const std::map<int32_t, sink::TaskProgress>& progress_;
  const std::vector<SourcePartition>& source_;
  VerifyReport* report_;
  std::map<int32_t, std::vector<Cover>> covers_;
  int before_ = 0, after_ = 0;  // partitions of an unfinished batch, by where the sink ends
};

}  // namespace

// The progress rows of `pipeline`, or none when the sink's database does not exist yet (it is
// not created just to be read).
Result<std::map<int32_t, sink::TaskProgress>> ReadSinkProgress(const config::SinkConfig& config,
                                                               const std::string& pipeline,
                                                               const std::string& data_dir) {
  if (const SqliteSinkOptions* sqlite = config.sqlite();
      sqlite != nullptr && sqlite->path != ":memory:" && !PathExists(sqlite->path)) {
    return std::map<int32_t, sink::TaskProgress>();
  }
  ONCEFLOW_ASSIGN_OR_RETURN(
      auto sink, engine::MakeSink(config, checkpoint::CheckpointDir(data_dir, pipeline)));
  ONCEFLOW_RETURN_IF_ERROR(sink->Open());
  return sink->ReadProgress(pipeline);
}

Result<VerifyReport> VerifyPipeline(const config::PipelineConfig& config,
                                    const std::string& data_dir, const std::string& reset_command) {
  const std::string way_out = engine::ResetWayOut(reset_command, data_dir, config.name);
  VerifyReport report;
  auto read = ReadCheckpointState(data_dir, config.name);
  if (!read.has_value()) return Err(engine::WithWayOut(read.error(), way_out));
  std::optional<CheckpointState> cp = std::move(*read);
  ONCEFLOW_ASSIGN_OR_RETURN(auto progress, ReadSinkProgress(config.sink, config.name, data_dir));
  report.progress_rows = static_cast<int64_t>(progress.size());
  if (!cp || !cp->last_intent) {
    if (!progress.empty()) {
      int64_t newest = -1;
      for (const auto& [task, prog] : progress) newest = std::max(newest, prog.last_batch.value());
      report.violations.push_back(
          fmt::format("the sink holds {} progress row(s) of pipeline '{}' (up to batch {}) but the "
                      "checkpoint has no batch at all ({}): was it lost?",
                      progress.size(), config.name, newest,
                      cp ? cp->dir : checkpoint::CheckpointDir(data_dir, config.name)));
    } else {
      report.summary.push_back("nothing committed yet: no batch in the checkpoint, no progress "
                               "row in the sink");
    }
    return report;
  }
  // The source must be the one the checkpoint committed from, still holding what it
  // committed: a source that lost records can never verify OK. Its earliest offsets tell where
  // a partition without a progress row started when the checkpoint did not record it.
  ONCEFLOW_ASSIGN_OR_RETURN(OpenedSource source, OpenPipelineSource(config, data_dir));
  if (Status s = CheckPipelineSource(config, *cp, &source, reset_command, data_dir); !s.ok()) {
    report.violations.push_back(s.message());
  }
  report.partitions_checked = static_cast<int64_t>(cp->last_intent->ranges.size());
  Verifier(config, *cp, progress, source.partitions, &report).Run();
  return report;
}

}  // namespace onceflow::audit
