// BlackholeSink: progress rows in a file, output counted and dropped.
#include "sink/blackhole_sink.h"

#include <charconv>

#include "sink/sink_protocol.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow::sink {
namespace {

// Version 2 adds the output digest to task lines; version 1 files are read on (no digest).
constexpr std::string_view kMagic = "onceflow blackhole progress 2";
constexpr std::string_view kMagicV1 = "onceflow blackhole progress 1";

bool ParseInt(std::string_view s, int64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Splits off the next space-separated word of *line.
std::string_view NextWord(std::string_view* line) {
  const size_t space = line->find(' ');
  std::string_view word = line->substr(0, space);
  line->remove_prefix(space == std::string_view::npos ? line->size() : space + 1);
  return word;
}

}  // namespace

std::string BlackholeProgressPath(const std::string& dir) {
  return JoinPath(dir, "blackhole.progress");
}

std::string EncodeBlackholeState(const BlackholeState& state) {
  std::string out(kMagic);
  out += '\n';
  for (const auto& [pipeline, p] : state) {
    out += "rows " + pipeline + " " + std::to_string(p.rows) + " " +
           std::to_string(p.dead_letters) + "\n";
    for (const auto& [task, t] : p.progress) {
      const std::string ranges = EncodeRanges(t.ranges);
      const std::string starts = EncodeStarts(t.started);
      out += "task " + pipeline + " " + std::to_string(task) + " " + t.last_batch.ToString() + " " +
             t.epoch.ToString() + " " + (ranges.empty() ? "-" : ranges) + " " +
             (starts.empty() ? "-" : starts) + " " +
             (t.digest.has_value() ? EncodeDigest(*t.digest) : "-") + " " + t.source + "\n";
    }
  }
  return out;
}

Result<BlackholeState> DecodeBlackholeState(std::string_view text, const std::string& path) {
  BlackholeState state;
  int line_number = 0;
  auto bad = [&](const std::string& what) {
    return Status::Corruption(path + ": line " + std::to_string(line_number) + ": " + what);
  };
  bool v1 = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    ++line_number;
    if (nl == std::string_view::npos) return Err(bad("no line break at the end"));
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line_number == 1) {
      v1 = line == kMagicV1;
      if (line != kMagic && !v1) {
        return Err(bad("not a blackhole progress file of this version"));
      }
      continue;
    }
    const std::string_view key = NextWord(&line);
    const std::string pipeline(NextWord(&line));
    if (pipeline.empty()) return Err(bad("no pipeline name"));
    BlackholePipeline& p = state[pipeline];
    if (key == "rows") {
      if (!ParseInt(NextWord(&line), &p.rows) || !ParseInt(line, &p.dead_letters)) {
        return Err(bad("bad row or dead letter count"));
      }
    } else if (key == "task") {
      int64_t task = 0, batch = 0, epoch = 0;
      if (!ParseInt(NextWord(&line), &task) || !ParseInt(NextWord(&line), &batch) ||
          !ParseInt(NextWord(&line), &epoch) || task < 0 || task > INT32_MAX) {
        return Err(bad("bad task, batch or epoch"));
      }
      TaskProgress t;
      t.last_batch = BatchId(batch);
      t.epoch = Epoch(epoch);
      const std::string_view ranges = NextWord(&line);
      if (ranges != "-") {
        auto decoded = DecodeRanges(ranges);
        if (!decoded.has_value()) return Err(bad(decoded.error().message()));
        t.ranges = std::move(*decoded);
      }
      // "?": written without starts (as a progress row of an older version reads).
      const std::string_view starts = NextWord(&line);
      auto decoded = StartsFromColumn(
          starts == "?" ? std::nullopt
                        : std::optional<std::string_view>(starts == "-" ? "" : starts),
          t.ranges);
      if (!decoded.has_value()) return Err(bad(decoded.error().message()));
      t.started = std::move(*decoded);
      if (!v1) {
        const std::string_view digest = NextWord(&line);
        if (digest != "-") {
          t.digest = DecodeDigest(digest);
          if (!t.digest.has_value())
            return Err(bad("bad output digest '" + std::string(digest) + "'"));
        }
      }
      t.source = std::string(line);
      p.progress[static_cast<int32_t>(task)] = std::move(t);
    } else {
      return Err(bad("unknown key '" + std::string(key) + "'"));
    }
  }
  if (line_number == 0) return Err(Status::Corruption(path + ": empty"));
  return state;
}

BlackholeSink::BlackholeSink(std::string dir)
    : dir_(std::move(dir)), path_(BlackholeProgressPath(dir_)) {}

Status BlackholeSink::Open() {
  if (dir_.empty()) {
    return Status::InvalidArgument("blackhole sink: no checkpoint directory to keep progress in");
  }
  std::lock_guard lock(mu_);
  auto state = LoadLocked();
  return state.has_value() ? Status::Ok() : state.error();
}

Result<BlackholeState> BlackholeSink::ReadState() const {
  if (!PathExists(path_)) return BlackholeState{};
  ONCEFLOW_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path_));
  return DecodeBlackholeState(text, path_);
}

// Read at every call, not cached: another sink object or process (a zombie of the same
// pipeline) may have written the file since.
Result<BlackholeState> BlackholeSink::LoadLocked() { return ReadState(); }

Result<std::map<int32_t, TaskProgress>> BlackholeSink::ReadProgress(const std::string& pipeline) {
  std::lock_guard lock(mu_);
  ONCEFLOW_ASSIGN_OR_RETURN(BlackholeState s, LoadLocked());
  auto it = s.find(pipeline);
  return it == s.end() ? std::map<int32_t, TaskProgress>() : it->second.progress;
}

Result<std::vector<CommitOutcome>> BlackholeSink::Commit(std::span<const TaskCommit> tasks) {
  ONCEFLOW_RETURN_IF_ERROR(ValidateCommit(Describe(), tasks));
  std::lock_guard lock(mu_);
  ONCEFLOW_ASSIGN_OR_RETURN(BlackholeState next, LoadLocked());
  std::vector<CommitOutcome> outcomes;
  bool wrote = false;
  for (const TaskCommit& t : tasks) {
    BlackholePipeline& p = next[t.pipeline];
    std::optional<TaskProgress> stored;
    if (auto it = p.progress.find(t.task); it != p.progress.end()) stored = it->second;
    ONCEFLOW_ASSIGN_OR_RETURN(CommitOutcome outcome, DecideTask(Describe(), t, stored));
    outcomes.push_back(outcome);
    if (outcome != CommitOutcome::kCommitted) continue;
    p.rows += static_cast<int64_t>(t.rows.size());
    p.dead_letters += static_cast<int64_t>(t.dead_letters.size());
    p.progress[t.task] = ProgressAfter(stored, t.batch, t.epoch, t.ranges, t.source, t.digest);
    wrote = true;
  }
  if (!wrote) return outcomes;
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("mid_sink_write"));
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("before_sink_commit"));
  ONCEFLOW_RETURN_IF_ERROR(WriteFileAtomically(path_, EncodeBlackholeState(next)));
  ONCEFLOW_RETURN_IF_ERROR(faults::Hit("after_sink_commit"));
  return outcomes;
}

Result<std::map<int32_t, TaskProgress>> BlackholeSink::Claim(const std::string& pipeline,
                                                             std::span<const int32_t> tasks,
                                                             Epoch epoch) {
  std::lock_guard lock(mu_);
  ONCEFLOW_ASSIGN_OR_RETURN(BlackholeState next, LoadLocked());
  BlackholePipeline& p = next[pipeline];
  std::map<int32_t, TaskProgress> out;
  for (int32_t task : tasks) {
    std::optional<TaskProgress> stored;
    if (auto it = p.progress.find(task); it != p.progress.end()) stored = it->second;
    ONCEFLOW_ASSIGN_OR_RETURN(TaskProgress row,
                              DecideClaim(Describe(), pipeline, task, epoch, stored));
    p.progress[task] = row;
    out[task] = std::move(row);
  }
  ONCEFLOW_RETURN_IF_ERROR(WriteFileAtomically(path_, EncodeBlackholeState(next)));
  return out;
}

Status BlackholeSink::DeleteProgress(const std::string& pipeline) {
  std::lock_guard lock(mu_);
  if (!PathExists(path_)) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(BlackholeState s, LoadLocked());
  auto it = s.find(pipeline);
  if (it == s.end()) return Status::Ok();
  it->second.progress.clear();  // the counts stay, as a SQL sink's output rows stay
  ONCEFLOW_RETURN_IF_ERROR(WriteFileAtomically(path_, EncodeBlackholeState(s)));
  return Status::Ok();
}

}  // namespace onceflow::sink
