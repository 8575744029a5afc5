// `onceflow ui`: serves the UI server (src/ui) over the data directory until SIGINT or SIGTERM.
#include "cli/ui_command.h"

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "cli/commands.h"
#include "cli/data_dir.h"
#include "cli/server_flags.h"
#include "cli/signal_watcher.h"
#include "ui/pipeline_catalog.h"
#include "ui/ui_server.h"

namespace onceflow::cli {

Status RunUi(const UiOptions& o) {
  ui::UiServerOptions server;
  ONCEFLOW_RETURN_IF_ERROR(ParseHostPort(o.http, "--http", &server.host, &server.port));
  if (!o.token_file.empty()) {
    ONCEFLOW_ASSIGN_OR_RETURN(server.token, ReadTokenFile(o.token_file));
  }
  ONCEFLOW_RETURN_IF_ERROR(RequireDataDir(o.data_dir));

  std::mutex mu;
  std::condition_variable cv;
  int stop_signal = 0;
  // Before any thread starts: the server's threads inherit the blocked SIGINT/SIGTERM.
  SignalWatcher watcher(
      [&](int signo) {
        std::lock_guard lock(mu);
        if (stop_signal == 0) stop_signal = signo;
        cv.notify_all();
      },
      nullptr, std::chrono::milliseconds(500));

  ui::UiApi api(ui::UiApiOptions{.data_dir = o.data_dir, .live = std::nullopt});
  ONCEFLOW_ASSIGN_OR_RETURN(auto http, ui::UiServer::Start(&api, server));
  const size_t pipelines =
      ui::ListPipelines(o.data_dir).value_or(std::vector<ui::PipelineEntry>()).size();
  std::fprintf(stderr,
               "onceflow ui: serving http://%s:%d (data %s, %zu pipelines%s); SIGINT or SIGTERM "
               "stops it\n",
               server.host.c_str(), http->port(), o.data_dir.c_str(), pipelines,
               server.token.empty() ? "" : ", bearer token required for /api and /metrics");
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return stop_signal != 0; });
  }
  http->Stop();
  std::fprintf(stderr, "onceflow ui: stopped (%s)\n", strsignal(stop_signal));
  return Status::Ok();
}

void AddUiVerb(CLI::App* app, const std::function<void(CLI::App*)>& add_data_option,
               const std::string* data_flag, std::function<Status()>* action) {
  static UiOptions options;  // the parsed flags outlive the parse: the action reads them
  UiOptions* o = &options;
  CLI::App* cmd = app->add_subcommand(
      "ui", "Serve a web UI, JSON API and Prometheus metrics of the data directory's pipelines");
  cmd->footer(
      "Pages: / (every pipeline: status running/stopped/failing, last batch, rates, lag, last "
      "error), /pipeline/NAME (timelines, phases, lag per partition, batches, audit), "
      "/pipeline/NAME/batch/ID, /pipeline/NAME/dead-letters, /pipeline/NAME/config, "
      "/pipeline/NAME/state. The JSON API under /api/v1 (docs/api.md) and GET /metrics "
      "(Prometheus, docs/metrics.md) serve what the pages show, read from each pipeline's "
      "files under <data>/pipelines/NAME (batch history, checkpoint, the config snapshot that "
      "run saves, the sink's progress rows and dead letters) at each request, while the "
      "pipelines run or not; it changes nothing. `onceflow run PIPELINE.toml --ui ADDR` serves "
      "the same from inside a running pipeline. SIGINT or SIGTERM: stop, exit 0.");
  cmd->add_option("--http", o->http,
                  "Address HOST:PORT (port 0: any free port; loopback by default: use a "
                  "--token-file before serving another interface)")
      ->capture_default_str();
  cmd->add_option("--token-file", o->token_file,
                  "Require 'Authorization: Bearer <token>' on /api and /metrics, with the token "
                  "in this file")
      ->option_text("FILE");
  add_data_option(cmd);
  cmd->callback([o, data_flag, action] {
    *action = [o, data_flag] {
      o->data_dir = ResolveDataDir(*data_flag);
      return RunUi(*o);
    };
  });
}

}  // namespace onceflow::cli
