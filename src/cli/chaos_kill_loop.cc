// RunChaosLoop: start, kill, classify, verify, again; then the last run.
#include "cli/chaos_kill_loop.h"

#include <fmt/core.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "audit/checkpoint_state.h"
#include "audit/pipeline_status.h"
#include "audit/pipeline_verifier.h"
#include "cli/child_process.h"
#include "cli/data_dir.h"
#include "util/fault_points.h"
#include "util/file.h"
#include "util/power_loss.h"

namespace onceflow::cli {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Where the pipeline stands by its checkpoint.
struct Position {
  int64_t committed = 0;  // records: the sum of the partitions' committed offsets
  int64_t batches = 0;    // committed batches: the last committed batch + 1
  std::optional<int64_t> unfinished;
};

// Reads the Position. The last intent names only the partitions its batch read: the offsets of
// the others are remembered from earlier reads (per partition, the greatest seen).
class PositionReader {
 public:
  explicit PositionReader(const ChaosTarget& target) : target_(target) {}

  Result<Position> Read() {
    ONCEFLOW_ASSIGN_OR_RETURN(std::optional<audit::CheckpointState> cp,
                              audit::ReadCheckpointState(target_.data_dir, target_.config.name));
    Position p;
    if (!cp) return p;
    if (known_.size() < cp->committed.size()) known_.resize(cp->committed.size(), 0);
    for (size_t i = 0; i < cp->committed.size(); ++i) {
      known_[i] = std::max(known_[i], cp->committed[i].value());
    }
    for (int64_t o : known_) p.committed += o;
    p.batches = cp->last_committed_batch() + 1;
    if (cp->unfinished) p.unfinished = cp->last_intent->batch.value();
    return p;
  }

 private:
  const ChaosTarget& target_;
  std::vector<int64_t> known_;
};

// Watches a run's output for its first progress line, which `run` prints right after its
// first committed batch (the children run with a tiny --progress-interval): the moment a
// restart has recovered. Reads only what was appended since the last poll.
class FirstCommitWatcher {
 public:
  FirstCommitWatcher(std::string path, const std::string& pipeline)
      : path_(std::move(path)), prefix_("onceflow: " + pipeline + ": ") {}

  // True once the line is there.
  bool Poll() {
    if (seen_) return true;
    std::ifstream in(path_, std::ios::binary);
    if (!in) return false;
    in.seekg(static_cast<std::streamoff>(read_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    read_ += chunk.size();
    partial_ += chunk;
    size_t nl;
    while (!seen_ && (nl = partial_.find('\n')) != std::string::npos) {
      const std::string line = partial_.substr(0, nl);
      partial_.erase(0, nl + 1);
      seen_ = IsProgressLine(line);
    }
    return seen_;
  }

 private:
  // "onceflow: NAME: 3 batches, ..." (the last line, "caught up: 3 batches committed", comes
  // only after a progress line when a batch was committed).
  bool IsProgressLine(const std::string& line) const {
    if (!line.starts_with(prefix_)) return false;
    size_t i = prefix_.size();
    const size_t digits = i;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
    return i > digits && line.compare(i, 10, " batches, ") == 0;
  }

  const std::string path_;
  const std::string prefix_;
  size_t read_ = 0;
  std::string partial_;
  bool seen_ = false;
};

struct RunOutcome {
  int code = 0;
  bool killed = false;  // by our SIGKILL
  double ms = 0;
  std::optional<double> first_commit_ms;
  std::optional<int64_t> committed_at_first_commit;  // records, by the checkpoint
  std::string log;
};

// Runs one child with `faults` armed (none: "") and, if kill_after_ms is set, SIGKILLs it then.
Result<RunOutcome> RunChild(const ChaosTarget& target, PositionReader* positions, int run,
                            const std::string& faults, uint64_t fault_seed,
                            std::optional<double> kill_after_ms) {
  RunOutcome out;
  out.log = JoinPath(target.work_dir, fmt::format("run-{}.log", run));
  std::vector<std::string> env = {"ONCEFLOW_FAULTS", "ONCEFLOW_FAULT_SEED"};
  if (!faults.empty()) {
    env = {"ONCEFLOW_FAULTS=" + faults, fmt::format("ONCEFLOW_FAULT_SEED={}", fault_seed)};
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto child,
                            ChildProcess::Start({"run", target.toml, "--until-caught-up", "--data",
                                                 target.data_dir, "--progress-interval", "0.001"},
                                                out.log, env));
  const auto start = Clock::now();
  FirstCommitWatcher watcher(out.log, target.config.name);
  std::optional<int> code;
  while (!(code = child->Poll())) {
    const double now = MsSince(start);
    if (!out.first_commit_ms && watcher.Poll()) {
      out.first_commit_ms = now;
      // A read racing the child may fail after its retries: then this run gives no rate sample.
      if (auto p = positions->Read(); p.has_value()) out.committed_at_first_commit = p->committed;
    }
    if (kill_after_ms && now >= *kill_after_ms) {
      child->Kill(SIGKILL);
      code = child->Wait();  // the exit code if it ended just before the signal
      out.killed = *code == 128 + SIGKILL;
      break;
    }
    // Polling for the effects (an exit, a line): the interval only bounds the latency.
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  out.ms = MsSince(start);
  out.code = *code;
  // The first commit may have been written just before the exit.
  if (!out.first_commit_ms && watcher.Poll()) out.first_commit_ms = out.ms;
  return out;
}

std::string LastLine(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.has_value()) return "";
  std::string s = *text;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

bool Contains(const std::string& path, const std::string& what) {
  auto text = ReadFileToString(path);
  return text.has_value() && text->find(what) != std::string::npos;
}

// How the kill loop learns the work left: rates from the runs so far.
class WorkModel {
 public:
  WorkModel(int64_t total_records, int64_t records_per_batch)
      : total_(total_records),
        per_batch_(static_cast<double>(std::max<int64_t>(1, records_per_batch))) {}

  WorkLeft Left(int64_t done_records, const std::vector<double>& startups, int kills_left) const {
    WorkLeft left;
    if (!startups.empty()) {
      std::vector<double> s = startups;
      std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(s.size() / 2), s.end());
      left.startup_ms = s[s.size() / 2];
    }
    const double remaining = static_cast<double>(std::max<int64_t>(0, total_ - done_records));
    left.work_ms = remaining * ms_per_record_;
    left.batches = remaining / per_batch_;
    left.kills_left = std::max(1, kills_left);
    return left;
  }

  // A run committed `records` records in `ms` after its first commit, in `batches` batches.
  void Sample(double ms, int64_t records) {
    if (records > 0 && ms > 0) ms_per_record_ = 0.5 * ms_per_record_ + 0.5 * ms / records;
  }
  void SampleBatches(int64_t records, int64_t batches) {
    if (records > 0 && batches > 0) per_batch_ = static_cast<double>(records) / batches;
  }

 private:
  int64_t total_;
  double per_batch_;
  double ms_per_record_ = 0.01;  // a guess until measured
};

}  // namespace

Status RunChaosLoop(const ChaosTarget& target, const ChaosLoopOptions& options,
                    std::mt19937_64* rng, ChaosTally* tally) {
  PositionReader positions(target);
  ONCEFLOW_ASSIGN_OR_RETURN(const Position start, positions.Read());
  // The work: what the source holds beyond the committed offsets now.
  int64_t total = 0;
  int partitions = 1;
  if (auto s = audit::ReadPipelineStatus(target.config, target.data_dir,
                                         {.reset_command = "", .read_sink_progress = false});
      s.has_value()) {
    total = s->total_lag;
    partitions = std::max<int>(1, static_cast<int>(s->partitions.size()));
  }
  WorkModel model(total, target.config.max_records_per_partition * partitions);
  fmt::print("chaos: {} records to process in pipeline '{}' ({}); run logs in {}\n", total,
             target.config.name, target.toml, target.work_dir);
  std::fflush(stdout);
  bool after_kill = false;
  bool caught_up = false;
  for (int run = 1;; ++run) {
    const bool last = caught_up || tally->total_kills() >= options.kills;
    ONCEFLOW_ASSIGN_OR_RETURN(const Position before, positions.Read());
    if (before.unfinished) ++tally->replayed;
    RunPlan plan;
    if (!last) {
      plan = PlanRun(options.faults,
                     model.Left(before.committed - start.committed, tally->recovery_ms,
                                options.kills - tally->total_kills()),
                     rng);
    }
    const uint64_t fault_seed = (*rng)();
    ++tally->runs;
    ONCEFLOW_ASSIGN_OR_RETURN(
        const RunOutcome out,
        RunChild(target, &positions, run, plan.faults, fault_seed,
                 last ? std::nullopt : std::optional<double>(plan.kill_after_ms)));
    ONCEFLOW_ASSIGN_OR_RETURN(const Position after, positions.Read());
    if (after_kill) {
      ++tally->restarts;
      if (out.first_commit_ms || out.code == 0) ++tally->recoveries;
      if (out.first_commit_ms) tally->recovery_ms.push_back(*out.first_commit_ms);
    }
    if (out.first_commit_ms && out.committed_at_first_commit) {
      model.Sample(out.ms - *out.first_commit_ms, after.committed - *out.committed_at_first_commit);
    }
    model.SampleBatches(after.committed - start.committed, after.batches - start.batches);
    const std::string where =
        fmt::format("{} records committed (+{}), {} batches{}", after.committed - start.committed,
                    after.committed - before.committed, after.batches,
                    before.unfinished ? fmt::format(", re-ran batch {}", *before.unfinished) : "");
    const std::string first = out.first_commit_ms
                                  ? fmt::format("first commit at {:.0f} ms", *out.first_commit_ms)
                                  : "no commit";
    if (last) {
      fmt::print("run {} (last, no faults): exit {} after {:.0f} ms, {}; {}\n", run, out.code,
                 out.ms, first, where);
      tally->finished = out.code == 0;
      if (out.code != 0) {
        tally->violations.push_back(
            fmt::format("the last run, without faults, exited with status {} (see {}: {})",
                        out.code, out.log, LastLine(out.log)));
      }
      return Status::Ok();
    }
    std::optional<KillKind> kind;
    if (out.killed) {
      kind = KillKind::kMoment;
    } else if (out.code == faults::kCrashExitCode && plan.kind == KillKind::kFaultPoint) {
      kind = KillKind::kFaultPoint;
    } else if (out.code == power_loss::kExitCode && plan.kind == KillKind::kPowerLoss) {
      kind = KillKind::kPowerLoss;
    } else if (out.code != 0 && plan.kind == KillKind::kInjectedError &&
               (Contains(out.log, "onceflow: fault point ") || Contains(out.log, "injected "))) {
      kind = KillKind::kInjectedError;
    }
    if (out.code == 0) {
      // Nothing left to kill: the next run is the last one, without faults.
      fmt::print("run {}: {}: caught up after {:.0f} ms, {}; {}\n", run, plan.Describe(), out.ms,
                 first, where);
      std::fflush(stdout);
      caught_up = true;
      after_kill = false;
      continue;
    }
    if (!kind) {
      tally->violations.push_back(fmt::format(
          "run {} ({}) exited with status {} and no injected fault to blame (see {}: {})", run,
          plan.Describe(), out.code, out.log, LastLine(out.log)));
      fmt::print("run {}: {}: FAILED with status {} after {:.0f} ms: {}\n", run, plan.Describe(),
                 out.code, out.ms, LastLine(out.log));
      return Status::Ok();
    }
    ++tally->kills[static_cast<size_t>(*kind)];
    after_kill = true;
    ONCEFLOW_ASSIGN_OR_RETURN(VerifyReport report,
                              audit::VerifyPipeline(target.config, target.data_dir,
                                                    ResetCommand(target.toml, target.data_dir)));
    fmt::print("run {}: {}: {} after {:.0f} ms, {}; {}; verify {}\n", run, plan.Describe(),
               KillKindName(*kind), out.ms, first, where, report.ok() ? "OK" : "FAILED");
    for (const std::string& v : report.violations) {
      tally->violations.push_back(fmt::format("verify after kill {} (run {}, {}): {}",
                                              tally->total_kills(), run, plan.Describe(), v));
    }
    std::fflush(stdout);
  }
}

}  // namespace onceflow::cli
