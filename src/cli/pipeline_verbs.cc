// CLI11 definitions of run, status, verify, reset, chaos and demo.
#include "cli/pipeline_verbs.h"

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands.h"

namespace onceflow::cli {
namespace {

// The positional pipeline file every pipeline verb takes.
void AddConfigOption(CLI::App* cmd, std::string* path) {
  cmd->add_option("pipeline", *path,
                  "The pipeline's TOML file (relative paths in it, such as sink.path, are "
                  "relative to the file)")
      ->option_text("PIPELINE.toml")
      ->required();
}

}  // namespace

void AddPipelineVerbs(CLI::App* app, const std::function<void(CLI::App*)>& add_data_option,
                      const std::string* data_flag, std::function<Status()>* action) {
  // run
  auto run = std::make_shared<PipelineRunOptions>();
  CLI::App* run_cmd = app->add_subcommand("run", "Run a pipeline described by a TOML file");
  run_cmd->footer(
      "Recovers the pipeline from its checkpoint under <data>/pipelines/<name> (an unfinished "
      "batch is re-run with exactly its recorded offsets; the sink skips what it already holds) "
      "and runs micro-batches with exactly-once output until SIGINT or SIGTERM, which stop it "
      "after the current batch (a second signal exits at once: still safe), or until it is "
      "caught up with --until-caught-up. Progress lines go to stderr. Exit status: 0 when "
      "stopped or caught up; 1 on an error (a bad pipeline file names the key at fault); 2 on a "
      "usage error or a bad ONCEFLOW_FAULTS; 86 when an injected crash fault fires. "
      "ONCEFLOW_FAULTS=\"point=action,...\" arms fault points (e.g. after_sink_commit=crash#2).");
  AddConfigOption(run_cmd, &run->config_path);
  run_cmd->add_flag("--until-caught-up", run->until_caught_up,
                    "Exit 0 once everything that was in the source when the run started is "
                    "committed");
  run_cmd->add_option("--max-batches", run->max_batches, "Stop after N batches (-1: no limit)")
      ->option_text("N")
      ->capture_default_str();
  run_cmd
      ->add_option("--progress-interval", run->progress_interval_s,
                   "Seconds between progress lines (batches, records/s, last batch) on stderr")
      ->option_text("SECONDS")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run_cmd
      ->add_option("--ui", run->ui,
                   "Also serve the web UI, its JSON API and Prometheus /metrics on HOST:PORT "
                   "while running (what `onceflow ui` serves, with this run's live counters; "
                   "port 0: any free port)")
      ->option_text("HOST:PORT");
  run_cmd
      ->add_option("--ui-token-file", run->ui_token_file,
                   "Require 'Authorization: Bearer <token>' on the UI's /api and /metrics, "
                   "with the token in this file")
      ->option_text("FILE");
  run_cmd->add_flag("--no-progress", run->no_progress,
                    "Progress lines even when stderr is a terminal (there --until-caught-up "
                    "draws a bar: records done of the backlog at start, rate, ETA; also "
                    "ONCEFLOW_NO_PROGRESS=1 or TERM=dumb)");
  add_data_option(run_cmd);
  run_cmd->callback([=] {
    *action = [=] {
      run->data_dir = ResolveDataDir(*data_flag);
      return RunPipeline(*run);
    };
  });

  // status and verify
  auto inspect = std::make_shared<PipelineInspectOptions>();
  CLI::App* status_cmd =
      app->add_subcommand("status", "Show a pipeline's committed offsets and lag");
  status_cmd->footer(
      "Prints the last committed batch, the fencing epoch, the unfinished batch if any (a "
      "restart re-runs it) and, per source partition, the committed offset (where the next "
      "batch starts), the end offset and the lag (END - COMMITTED). Reads the checkpoint and "
      "the topic without locking them: it may run while the pipeline runs. First checks the "
      "source as run does at start: a source that is not the one the checkpoint committed from "
      "(a topic renamed or created again), or that lost or rewrote committed records, is one "
      "error line naming the partition, the offsets and the way out (exit 1), never a negative "
      "lag.");
  AddConfigOption(status_cmd, &inspect->config_path);
  add_data_option(status_cmd);
  status_cmd->callback([=] {
    *action = [=] {
      inspect->data_dir = ResolveDataDir(*data_flag);
      return RunStatus(*inspect);
    };
  });

  CLI::App* verify_cmd = app->add_subcommand(
      "verify", "Check that a pipeline's sink and checkpoint agree (exactly-once audit)");
  verify_cmd->footer(
      "Reads the sink's progress rows (one per task: last batch, epoch, offset ranges) and the "
      "checkpoint, and checks that the rows cover exactly the committed offsets of every "
      "partition, with no gap and no overlap; that the row of each partition ends where the "
      "checkpoint's last batch ends (when that batch is unfinished, at its start or at its end: "
      "both are consistent, and it says which); and that no row claims a batch or an epoch "
      "newer than the checkpoint's; and, as run does at start, that the source is the one the "
      "checkpoint committed from and still holds, unchanged, the records it committed. A "
      "partition without a progress row is checked from where the pipeline started it. Prints "
      "OK and a summary (exit 0) or every violation (exit 1). Run it while the pipeline is "
      "stopped.");
  AddConfigOption(verify_cmd, &inspect->config_path);
  add_data_option(verify_cmd);
  verify_cmd->callback([=] {
    *action = [=] {
      inspect->data_dir = ResolveDataDir(*data_flag);
      return RunVerify(*inspect);
    };
  });

  // reset
  auto reset = std::make_shared<PipelineResetOptions>();
  CLI::App* reset_cmd = app->add_subcommand(
      "reset", "Start a pipeline afresh: forget its checkpoint (offsets, keyed state)");
  reset_cmd->footer(
      "The deliberate way out when run, status or verify refuse a pipeline: its source changed "
      "(a topic renamed in the TOML, deleted and created again) or lost records it had "
      "committed, its checkpoint is damaged, or its keyed state cannot be rebuilt. Prints the "
      "checkpoint and the sink's progress rows of the pipeline and what a reset does; with "
      "--yes, removes the checkpoint directory <data>/pipelines/<name> (offsets and commits "
      "logs, epoch, source record, keyed state store), so that the next run starts from "
      "starting_offsets. The sink's output rows are NOT touched: with starting_offsets = "
      "\"earliest\" the records already in the sink are processed and written again (clear "
      "the output first, or use a new sink table). The sink must hold no progress row of the "
      "pipeline (they would make the next run resume from them): when it does, reset changes "
      "nothing and prints the statement that deletes them. Refused while the pipeline runs. "
      "With --accept-loss, the new checkpoint instead continues each partition where the "
      "pipeline was (at the source's end where the source lost committed records), and "
      "records what was given up. "
      "Another way out that keeps everything: give the pipeline a new name. Exit status: 0 "
      "when reset; 1 otherwise (also without --yes).");
  AddConfigOption(reset_cmd, &reset->config_path);
  reset_cmd->add_flag("--yes", reset->yes, "Really remove the checkpoint (without it: only show)");
  reset_cmd->add_flag(
      "--accept-loss", reset->accept_loss,
      "Instead of starting from starting_offsets, accept that the source lost or rewrote "
      "records the pipeline committed: each partition continues at its committed offset, or at "
      "the source's end where it now ends before it. What is given up is printed and recorded "
      "in the new checkpoint. Not for a source that changed identity or keyed state");
  add_data_option(reset_cmd);
  reset_cmd->callback([=] {
    *action = [=] {
      reset->data_dir = ResolveDataDir(*data_flag);
      return RunReset(*reset);
    };
  });

  // chaos
  auto chaos = std::make_shared<ChaosOptions>();
  CLI::App* chaos_cmd = app->add_subcommand(
      "chaos", "Run a pipeline under random kills, crashes and faults, then audit exactly-once");
  chaos_cmd->footer(
      "Runs the pipeline as 'onceflow run PIPELINE.toml --until-caught-up' child processes and "
      "ends each one with a seeded random kill: a SIGKILL at a random moment (sometimes during "
      "the restart itself) or a crash at a random fault point of the commit protocol and a "
      "random hit (ONCEFLOW_FAULTS=point=crash#k); with --power-loss also a simulated power "
      "loss there (every change not yet fsynced is forgotten); with --faults also injected I/O "
      "errors (EIO, ENOSPC at a write, fsync or rename of onceflow's files) and thrown faults "
      "at protocol points (a run that stops on such an error is a kill too). It restarts the "
      "pipeline after each kill and runs 'verify', until --kills kills landed or the pipeline "
      "caught up; then one last run without faults, which must finish. Then the audit: "
      "'verify', and for the embedded log into SQLite an input-vs-output audit: the same "
      "pipeline (named NAME.chaos-reference) runs once without faults from the same input into "
      "a fresh database <data>/chaos/NAME/reference.db, and every table of the sink must hold "
      "exactly its rows, each as often (a row fewer: LOST; more: DUPLICATED; never in the "
      "reference: PHANTOM), and the same dead letters. This holds for pipelines whose output "
      "depends on their input only, not on batch times. Run logs are in <data>/chaos/NAME. "
      "Prints one line per run and a report (kills by kind, recoveries, time from restart to "
      "first committed batch p50/p99/max, batches replayed, verdict). Give it enough input for "
      "the kills to land in; nothing else may run the pipeline meanwhile. Exit status: 0 when "
      "every audit passed; 1 naming the first violation (the report lists all, and the seed "
      "that repeats the run from the same starting data).");
  AddConfigOption(chaos_cmd, &chaos->config_path);
  chaos_cmd->add_option("--kills", chaos->kills, "Kills to land before the last run")
      ->option_text("N")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  chaos_cmd
      ->add_option("--seed", chaos->seed, "Seed of every random choice (0: a random seed, printed)")
      ->capture_default_str();
  chaos_cmd->add_flag("--power-loss", chaos->power_loss,
                      "Also simulated power losses at random fault points");
  chaos_cmd->add_flag("--faults", chaos->faults,
                      "Also injected I/O errors (eio, enospc) and thrown faults");
  chaos_cmd
      ->add_option("--audit-key", chaos->audit_key,
                   "Also audit record by record: every input record's FIELD is the COLUMN of "
                   "exactly one row of TABLE, or the record is one dead letter, and no row "
                   "has a FIELD no record has (embedded log into SQLite; unique FIELDs)")
      ->option_text("FIELD=TABLE.COLUMN");
  add_data_option(chaos_cmd);
  chaos_cmd->callback([=] {
    *action = [=] {
      chaos->data_dir = ResolveDataDir(*data_flag);
      return RunChaos(*chaos);
    };
  });

  // demo
  auto demo = std::make_shared<LedgerDemoOptions>();
  CLI::App* demo_cmd = app->add_subcommand(
      "demo", "The exactly-once ledger demo: bank transfers through a pipeline under kill -9");
  demo_cmd->footer(
      "In a fresh <data>/demo-ledger directory: produces random transfers "
      "{\"id\",\"from\",\"to\",\"amount\"} between accounts to a topic 'transfers' (4 "
      "partitions, keyed by payer), writes the ledger pipeline (ledger.toml: per transfer, debit "
      "the payer, credit the payee, add a ledger row, in SQLite bank.db), runs it with 'onceflow "
      "run --until-caught-up' as a child process, SIGKILLs it at random moments and restarts it, "
      "lets the last run finish, then checks: ledger rows == transfers, no duplicate id, total "
      "balance 0, every balance equal to the transfers' sum, and the progress rows verify clean "
      "(also after every kill). Prints the throughput, the kills and the batches replayed, and a "
      "verdict; exits non-zero on any violation.");
  demo_cmd->add_option("-n,--transfers", demo->transfers, "Transfers to produce")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  demo_cmd->add_option("--accounts", demo->accounts, "Accounts the transfers go between")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 40));
  demo_cmd->add_option("--kills", demo->kills, "SIGKILLs of the running pipeline")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  demo_cmd
      ->add_option("--seed", demo->seed,
                   "Seed of the transfers and of the kill moments (0: a random seed, printed)")
      ->capture_default_str();
  demo_cmd
      ->add_option("--max-records-per-partition", demo->max_records_per_partition,
                   "Records per partition and batch in ledger.toml (0: chosen from --transfers, "
                   "at most 50000)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  demo_cmd->add_flag("--no-progress", demo->no_progress,
                     "No progress bar (transfers committed, rate, ETA) on stderr, even when it "
                     "is a terminal (also ONCEFLOW_NO_PROGRESS=1 or TERM=dumb)");
  add_data_option(demo_cmd);
  demo_cmd->callback([=] {
    *action = [=] {
      demo->data_dir = ResolveDataDir(*data_flag);
      return RunLedgerDemo(*demo);
    };
  });
}

}  // namespace onceflow::cli
