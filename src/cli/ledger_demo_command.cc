// `onceflow demo`: the exactly-once ledger demo. Random transfers go into a topic; the ledger
// pipeline runs as a child process (`onceflow run`) that is SIGKILLed at random moments and
// restarted; at the end every account's balance must be exactly what the transfers say.
#include <fmt/core.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "audit/checkpoint_state.h"
#include "audit/pipeline_verifier.h"
#include "cli/child_process.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "cli/ledger_check.h"
#include "cli/ledger_workload.h"
#include "cli/progress_bar.h"
#include "config/pipeline_config.h"
#include "log/topic.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int32_t kPartitions = 4;
constexpr const char* kPipeline = "ledger";
// How often the demo reads the checkpoint while a run goes on, to learn its speed.
constexpr double kPollMs = 5;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Big batches for throughput (one SQLite transaction, one fsync each), but about 16 or more
// batches per partition, so that a kill has batch boundaries to fall between.
int64_t DefaultMaxRecords(int64_t transfers) {
  return std::clamp<int64_t>(transfers / (kPartitions * 16), 250, 50000);
}

// How far the pipeline is, by its checkpoint: committed records (every partition starts at 0).
struct Progress {
  int64_t committed = 0;
  int64_t last_committed_batch = -1;
  std::optional<int64_t> unfinished_batch;
};

Result<Progress> ReadProgress(const std::string& dir) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::optional<audit::CheckpointState> cp,
                            audit::ReadCheckpointState(dir, kPipeline));
  Progress p;
  if (!cp) return p;
  for (Offset o : cp->committed) p.committed += std::max<int64_t>(o.value(), 0);
  p.last_committed_batch = cp->last_committed_batch();
  if (cp->unfinished) p.unfinished_batch = cp->last_intent->batch.value();
  return p;
}

// The expected length of a run, learnt from the progress the earlier runs made: a start-up
// time (process, recovery) plus a rate. Starts from a guess and is corrected by every run that
// commits at least two batches.
class RunTimeModel {
 public:
  // A run that started with `base` records committed had `committed` at `ms` after its start.
  void Sample(int64_t base, double ms, int64_t committed) {
    if (committed <= std::max(last_committed_, base)) return;  // no commit since the last
    if (first_ms_ < 0) {
      first_ms_ = ms;
      first_committed_ = committed;
      base_ = base;
    } else if (ms > first_ms_) {
      per_ms_ = static_cast<double>(committed - first_committed_) / (ms - first_ms_);
      startup_ms_ =
          std::max(0.0, first_ms_ - static_cast<double>(first_committed_ - base_) / per_ms_);
    }
    last_committed_ = committed;
  }
  void NewRun() { first_ms_ = -1, last_committed_ = -1; }

  double ExpectedMs(int64_t remaining) const {
    return startup_ms_ + static_cast<double>(remaining) / per_ms_;
  }

 private:
  double startup_ms_ = 30;  // guesses, until measured
  double per_ms_ = 300;
  double first_ms_ = -1;
  int64_t first_committed_ = 0, base_ = 0, last_committed_ = -1;
};

struct Tally {
  int kills = 0;
  int replayed = 0;          // restarts that found an unfinished batch
  int replayed_in_sink = 0;  // ... which the sink already held
  double run_ms = 0;         // all runs, start to end
  double last_run_ms = 0;
  int64_t last_run_records = 0;
  std::vector<std::string> violations;  // found by verify after a kill
};

const char* UnfinishedText(VerifyReport::Unfinished u) {
  using U = VerifyReport::Unfinished;
  switch (u) {
    case U::kBefore: return "not yet in the sink";
    case U::kAfter: return "already in the sink, its commit record missing";
    case U::kMixed: return "partly in the sink";
    case U::kNone: break;
  }
  return "";
}

// Runs the pipeline to the end, SIGKILLing it options.kills times at random moments.
Status RunWithKills(const LedgerDemoOptions& options, const std::string& dir,
                    const std::string& toml, const config::PipelineConfig& config,
                    std::mt19937_64* rng, Tally* tally) {
  const int64_t total = options.transfers;
  RunTimeModel model;
  // On a terminal: transfers committed of all of them, on stderr, below the lines on stdout.
  std::unique_ptr<ProgressBar> bar;
  if (ProgressBarWanted(options.no_progress)) bar = std::make_unique<ProgressBar>(total);
  auto clear_bar = [&bar] {
    if (bar) bar->Clear();
  };
  for (int run = 1;; ++run) {
    ONCEFLOW_ASSIGN_OR_RETURN(Progress before, ReadProgress(dir));
    const bool kill = tally->kills < options.kills;
    double delay_ms = 0;
    if (kill) {
      // Uniform in [lo, hi]: hi spreads the remaining kills over the remaining work (the mean
      // kill comes after 1/(kills left + 1) of the expected run time), at most 800 ms.
      const double expected = model.ExpectedMs(total - before.committed);
      const double hi = std::clamp(2 * expected / (options.kills - tally->kills + 1), 20.0, 800.0);
      delay_ms = std::uniform_real_distribution<double>(std::min(50.0, hi / 4), hi)(*rng);
    }
    const std::string log_path = JoinPath(dir, fmt::format("run-{}.log", run));
    ONCEFLOW_ASSIGN_OR_RETURN(auto child,
                              ChildProcess::Start({"run", toml, "--until-caught-up", "--data", dir,
                                                   "--progress-interval", "1"},
                                                  log_path));
    const auto start = Clock::now();
    model.NewRun();
    std::optional<int> code;
    double last_poll = -kPollMs;
    bool killed = false;
    while (!(code = child->Poll())) {
      const double now = MsSince(start);
      if (kill && now >= delay_ms) {
        child->Kill(SIGKILL);
        code = child->Wait();  // 0 if it finished just before the signal
        killed = *code == 128 + SIGKILL;
        break;
      }
      if (now - last_poll >= kPollMs) {
        last_poll = now;
        // A read racing the running child may still fail after its retries (pipeline_state.cc):
        // it is only a speed sample.
        if (auto p = ReadProgress(dir); p.has_value()) {
          model.Sample(before.committed, MsSince(start), p->committed);
          if (bar) bar->Update(p->committed);
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    const double ms = MsSince(start);
    tally->run_ms += ms;
    // The batch this run had to re-run first, if any (a killed run may not have finished it).
    const std::string replay =
        before.unfinished_batch ? fmt::format(", {} batch {}", killed ? "was re-running" : "re-ran",
                                              *before.unfinished_batch)
                                : "";
    ONCEFLOW_ASSIGN_OR_RETURN(Progress after, ReadProgress(dir));
    if (killed) {
      ++tally->kills;
      ONCEFLOW_ASSIGN_OR_RETURN(VerifyReport report,
                                audit::VerifyPipeline(config, dir, ResetCommand(config.file, dir)));
      std::string state;
      if (after.unfinished_batch) {
        ++tally->replayed;  // the next run re-runs it
        if (report.unfinished == VerifyReport::Unfinished::kAfter) ++tally->replayed_in_sink;
        state = fmt::format("; batch {} in flight: {}", *after.unfinished_batch,
                            UnfinishedText(report.unfinished));
      }
      clear_bar();
      fmt::print(
          "run {}: SIGKILL after {:4.0f} ms{}: {:>8} of {} transfers committed{}; verify {}\n", run,
          ms, replay, after.committed, total, state, report.ok() ? "OK" : "FAILED");
      for (const std::string& v : report.violations) {
        fmt::print("  violation: {}\n", v);
        tally->violations.push_back(fmt::format("after kill {}: {}", tally->kills, v));
      }
      std::fflush(stdout);
      continue;
    }
    if (*code != 0) {
      return Status::Aborted(fmt::format(
          "run {} of the pipeline exited with status {} (not killed by the demo); see {}", run,
          *code, log_path));
    }
    if (bar) bar->Finish(after.committed);
    tally->last_run_ms = ms;
    tally->last_run_records = after.committed - before.committed;
    fmt::print("run {}: finished in {:4.0f} ms{}: {:>8} of {} transfers committed{}\n", run, ms,
               replay, after.committed, total, kill ? " (before the planned kill)" : "");
    std::fflush(stdout);
    return Status::Ok();
  }
}

}  // namespace

Status RunLedgerDemo(const LedgerDemoOptions& options) {
  if (options.transfers < 1 || options.accounts < 2 || options.kills < 0) {
    return Status::InvalidArgument(
        "the demo needs --transfers >= 1, --accounts >= 2, --kills >= 0");
  }
  const std::string dir = JoinPath(options.data_dir, "demo-ledger");
  ONCEFLOW_RETURN_IF_ERROR(RemoveAll(dir));
  ONCEFLOW_RETURN_IF_ERROR(CreateDirs(dir));
  const uint64_t seed = options.seed != 0 ? options.seed : std::random_device{}();
  const int64_t max_records = options.max_records_per_partition > 0
                                  ? options.max_records_per_partition
                                  : DefaultMaxRecords(options.transfers);
  fmt::print("demo: exactly-once ledger in {} (seed {})\n", dir, seed);

  // 1. The transfers, durable in the log before anything runs.
  log::TopicConfig topic_config;
  topic_config.partitions = kPartitions;
  const auto produce_start = Clock::now();
  const std::vector<Transfer> transfers = MakeTransfers(options.transfers, options.accounts, seed);
  {
    ONCEFLOW_ASSIGN_OR_RETURN(auto topic, log::Topic::Create(dir, "transfers", topic_config));
    ONCEFLOW_RETURN_IF_ERROR(ProduceTransfers(topic.get(), transfers));
  }
  const double produce_ms = MsSince(produce_start);
  fmt::print(
      "produced {} transfers between {} accounts to topic 'transfers' ({} partitions, keyed by "
      "payer) in {:.2f} s ({:.0f} transfers/s, fsynced)\n",
      options.transfers, options.accounts, kPartitions, produce_ms / 1000,
      options.transfers / (produce_ms / 1000));

  // 2. The pipeline file, then the runs.
  const std::string toml = JoinPath(dir, "ledger.toml");
  ONCEFLOW_RETURN_IF_ERROR(WriteFileAtomically(toml, LedgerPipelineToml(max_records)));
  ONCEFLOW_ASSIGN_OR_RETURN(config::PipelineConfig config, config::LoadPipelineConfig(toml));
  fmt::print("pipeline {}: one debit, one credit and one ledger row per transfer into {}, up to {} "
             "records per partition and batch; running it as 'onceflow run --until-caught-up' and "
             "SIGKILLing it {} times\n",
             toml, config.sink.sqlite()->path, max_records, options.kills);
  std::fflush(stdout);
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + 1);
  Tally tally;
  ONCEFLOW_RETURN_IF_ERROR(RunWithKills(options, dir, toml, config, &rng, &tally));

  // 3. The checks.
  ONCEFLOW_ASSIGN_OR_RETURN(
      std::vector<LedgerCheck> checks,
      CheckLedger(config.sink.sqlite()->path, transfers, options.accounts, kPipeline));
  ONCEFLOW_ASSIGN_OR_RETURN(VerifyReport report,
                            audit::VerifyPipeline(config, dir, ResetCommand(config.file, dir)));
  std::string verify = report.ok() ? report.summary.front() : "";
  for (const std::string& v : report.violations) verify += (verify.empty() ? "" : "; ") + v;
  checks.push_back({"progress rows verify clean", verify, report.ok()});
  checks.push_back(
      {"verify clean after every kill",
       fmt::format("{} kill(s), {} violation(s)", tally.kills, tally.violations.size()),
       tally.violations.empty()});
  int failed = 0;
  fmt::print("checks:\n");
  for (const LedgerCheck& c : checks) {
    fmt::print("  [{}] {}: {}\n", c.ok ? "ok" : "FAILED", c.what, c.found);
    failed += c.ok ? 0 : 1;
  }
  ONCEFLOW_ASSIGN_OR_RETURN(Progress end, ReadProgress(dir));
  fmt::print(
      "throughput: {:.0f} transfers/s (the last run: {} transfers in {:.2f} s, no kill, process "
      "start to exit); all {} runs: {} transfers in {:.2f} s, restarts and replays included\n",
      tally.last_run_ms > 0 ? tally.last_run_records / (tally.last_run_ms / 1000) : 0.0,
      tally.last_run_records, tally.last_run_ms / 1000, tally.kills + 1, options.transfers,
      tally.run_ms / 1000);
  fmt::print("kills: {} SIGKILLs done ({} asked); batches replayed after a kill: {} ({} of them "
             "already in the sink, so their re-run wrote nothing); {} batches committed\n",
             tally.kills, options.kills, tally.replayed, tally.replayed_in_sink,
             end.last_committed_batch + 1);
  if (failed == 0) {
    fmt::print(
        "verdict: EXACTLY ONCE: {} transfers, {} kill -9s, every payer debited once and every "
        "payee credited once\n",
        options.transfers, tally.kills);
    return Status::Ok();
  }
  fmt::print("verdict: VIOLATED: {} of {} checks failed\n", failed, checks.size());
  std::fflush(stdout);
  return Status::Corruption(
      fmt::format("the ledger demo found {} failed check(s); the data is in {}", failed, dir));
}

}  // namespace onceflow::cli
