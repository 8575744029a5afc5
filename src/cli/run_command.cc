// `onceflow run PIPELINE.toml`: loads a pipeline file and runs it exactly once, with a progress
// line to stderr every few seconds. SIGINT or SIGTERM stop it cleanly after the current batch
// (a second one exits at once, which is safe: the next run re-runs the unfinished batch).
#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "audit/pipeline_status.h"
#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "cli/progress_bar.h"
#include "cli/server_flags.h"
#include "cli/signal_watcher.h"
#include "config/pipeline_config.h"
#include "onceflow/pipeline.h"
#include "ui/config_snapshot.h"
#include "ui/pipeline_catalog.h"
#include "ui/ui_server.h"
#include "util/file.h"

namespace onceflow::cli {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int64_t RecordsOf(const BatchContext& ctx) {
  int64_t n = 0;
  for (const OffsetRange& r : ctx.ranges) n += r.size();
  return n;
}

// Where a pipeline's dead letters are, for the lines that count them.
std::string DeadLetterPlace(const config::SinkConfig& sink, const std::string& pipeline) {
  if (sink.kafka() != nullptr) {
    return "the Kafka topic onceflow_dead_letters, key " + pipeline + "/<task>";
  }
  std::string where = "the table onceflow_dead_letters";
  if (sink.sqlite() != nullptr) where += " of " + sink.sqlite()->path;
  return where + " (SELECT * FROM onceflow_dead_letters WHERE pipeline = '" + pipeline + "')";
}

// The counts every run line carries: what did not become output, and what was retried.
std::string Problems(const PipelineStats& stats) {
  return fmt::format("{} dead letters, {} late, {} batch retries, {} failed task attempts",
                     stats.dead_letters, stats.late_records, stats.batch_retries,
                     stats.task_failures);
}

}  // namespace

Status RunPipeline(const PipelineRunOptions& options) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> pipeline,
                            Pipeline::FromConfigFile(options.config_path));
  const std::string name = pipeline->name();
  std::string dead_letter_place = "the sink's table onceflow_dead_letters";
  Result<config::PipelineConfig> config = config::LoadPipelineConfig(options.config_path);
  if (config.has_value()) dead_letter_place = DeadLetterPlace(config->sink, name);
  // On a terminal, --until-caught-up shows a bar (of the backlog at start: the sum over the
  // partitions of end - committed) instead of the progress lines; other lines go above it.
  std::unique_ptr<ProgressBar> bar;
  if (options.until_caught_up && config.has_value() && ProgressBarWanted(options.no_progress)) {
    AuditOptions audit;
    audit.read_sink_progress = false;
    Result<PipelineStatus> at_start = audit::ReadPipelineStatus(*config, options.data_dir, audit);
    bar = std::make_unique<ProgressBar>(at_start.has_value() ? at_start->total_lag : 0);
  }
  auto log_line = [&name, &bar](const std::string& line) {
    if (bar) return bar->Print("onceflow: " + name + ": " + line);
    std::fprintf(stderr, "onceflow: %s: %s\n", name.c_str(), line.c_str());
  };
  // The config snapshot the UI shows and audits with (secrets masked), unless another process
  // runs the pipeline (its run keeps its own snapshot; this one is about to be refused).
  const std::string checkpoint_dir = checkpoint::CheckpointDir(options.data_dir, name);
  if (!ui::CheckpointLockHeld(checkpoint_dir)) {
    Status saved = Status::Ok();
    if (Result<std::string> text = ReadFileToString(options.config_path); text.has_value()) {
      saved = ui::SaveConfigSnapshot(checkpoint_dir, options.config_path, *text);
    } else {
      saved = text.error();
    }
    // The snapshot is for people: the run goes on without it.
    if (!saved.ok())
      log_line("warning: the config snapshot for the UI was not saved: " + saved.ToString());
  }

  // Signals are taken by the watcher thread only (it blocks them before the pipeline starts its
  // threads). Stop is repeated on every tick after the first signal: a Stop that lands before
  // Run has started would otherwise be forgotten, as Run clears the flag when it starts.
  std::atomic<int> stop_signal{0};
  SignalWatcher watcher(
      [&](int signo) {
        if (stop_signal.exchange(signo) == 0) {
          log_line(std::string(strsignal(signo)) +
                   ": stopping after the current batch (send it again to exit at once)");
          pipeline->Stop();
          return;
        }
        log_line(std::string(strsignal(signo)) +
                 " again: exiting at once; the next run re-runs the unfinished batch");
        ::_exit(128 + signo);
      },
      [&] {
        if (stop_signal.load() != 0) pipeline->Stop();
      },
      std::chrono::milliseconds(100));

  // After the watcher: the server's threads inherit the blocked SIGINT/SIGTERM.
  std::unique_ptr<ui::UiApi> ui_api;
  std::unique_ptr<ui::UiServer> ui_server;
  if (!options.ui.empty()) {
    ui::UiServerOptions server;
    ONCEFLOW_RETURN_IF_ERROR(ParseHostPort(options.ui, "--ui", &server.host, &server.port));
    if (!options.ui_token_file.empty()) {
      ONCEFLOW_ASSIGN_OR_RETURN(server.token, ReadTokenFile(options.ui_token_file));
    }
    Pipeline* p = pipeline.get();
    ui_api = std::make_unique<ui::UiApi>(ui::UiApiOptions{
        .data_dir = options.data_dir,
        .live = ui::LivePipeline{.name = name, .stats = [p] { return p->stats(); }}});
    ONCEFLOW_ASSIGN_OR_RETURN(ui_server, ui::UiServer::Start(ui_api.get(), server));
    log_line("UI at http://" + server.host + ":" + std::to_string(ui_server->port()));
  }
  const auto start = Clock::now();
  const auto interval = std::chrono::duration<double>(options.progress_interval_s);
  auto last_print = start;
  int64_t records_at_print = 0;
  RunOptions run;
  run.data_dir = options.data_dir;
  run.until_caught_up = options.until_caught_up;
  run.max_batches = options.max_batches;
  run.reset_command = ResetCommand(options.config_path, options.data_dir);
  run.on_log = log_line;
  run.on_batch_committed = [&](const BatchContext& ctx, const PipelineStats& stats) {
    if (bar) return bar->Update(stats.records_in);
    const auto now = Clock::now();
    if (now - last_print < interval) return;
    const double dt = std::chrono::duration<double>(now - last_print).count();
    log_line(fmt::format(
        "{} batches, {} records ({:.0f} records/s); last batch {}: {} records, epoch {}; {}",
        stats.batches_committed, stats.records_in, (stats.records_in - records_at_print) / dt,
        ctx.batch_id.value(), RecordsOf(ctx), ctx.epoch.value(), Problems(stats)));
    last_print = now;
    records_at_print = stats.records_in;
  };
  Status s = pipeline->Run(run);
  const double seconds = SecondsSince(start);
  const PipelineStats stats = pipeline->stats();
  if (bar) bar->Finish(stats.records_in);
  // A failure is reported by main as one error line; what was done before it, if anything,
  // goes first.
  if (!s.ok() && stats.batches_committed == 0) return s;
  std::string why;
  if (!s.ok()) {
    why = "failed";
  } else if (stop_signal.load() != 0) {
    why = std::string("stopped (") + strsignal(stop_signal.load()) + ")";
  } else if (options.until_caught_up) {
    why = "caught up";
  } else {
    why = "stopped after --max-batches";
  }
  log_line(fmt::format(
      "{}: {} batches committed ({} replayed at recovery), {} records in {:.3f} s ({:.0f} "
      "records/s), {} rows out, {}, last batch {}",
      why, stats.batches_committed, stats.batches_replayed, stats.records_in, seconds,
      seconds > 0 ? stats.records_in / seconds : 0.0, stats.rows_out, Problems(stats),
      stats.last_batch.value()));
  const int64_t data_records = stats.records_in - stats.header_records;
  if (data_records > 0 && stats.dead_letters >= data_records) {
    log_line(fmt::format(
        "WARNING: every record of this run was dead-lettered ({} of {}): nothing reached the "
        "sink's output. The errors are in {}",
        stats.dead_letters, data_records, dead_letter_place));
  } else if (stats.dead_letters > 0) {
    log_line(fmt::format("{} records were dead-lettered ({} of them late): see {}",
                         stats.dead_letters, stats.late_records, dead_letter_place));
  }
  return s;
}

}  // namespace onceflow::cli
