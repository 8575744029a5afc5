// `onceflow serve`: runs the receiver's HTTP (and optionally TCP) endpoints over the data
// directory's topics until SIGINT or SIGTERM.
#include "cli/serve_command.h"

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "cli/commands.h"
#include "cli/server_flags.h"
#include "cli/signal_watcher.h"
#include "receiver/http_server.h"
#include "receiver/ingest.h"
#include "receiver/tcp_server.h"
#include "util/file.h"

namespace onceflow::cli {
Status RunServe(const ServeOptions& o) {
  receiver::HttpServerOptions http;
  ONCEFLOW_RETURN_IF_ERROR(ParseHostPort(o.http, "--http", &http.host, &http.port));
  http.threads = o.http_threads;
  http.max_connections = o.max_http_connections;
  receiver::TcpServerOptions tcp;
  if (!o.tcp.empty()) ONCEFLOW_RETURN_IF_ERROR(ParseHostPort(o.tcp, "--tcp", &tcp.host, &tcp.port));
  tcp.max_connections = o.max_tcp_connections;
  if (!o.token_file.empty()) {
    ONCEFLOW_ASSIGN_OR_RETURN(http.token, ReadTokenFile(o.token_file));
    tcp.token = http.token;
  }
  receiver::IngestOptions ingest;
  ingest.data_dir = o.data_dir;
  ingest.max_request_bytes = o.max_request_bytes;
  ingest.max_request_records = o.max_request_records;
  ingest.max_in_flight_bytes = o.max_in_flight_bytes;
  ingest.producer_expiry_ms = o.producer_expiry_s < 0 ? -1 : o.producer_expiry_s * 1000;
  ingest.snapshot_interval_ms = std::max<int64_t>(1, o.snapshot_interval_s) * 1000;

  std::mutex mu;
  std::condition_variable cv;
  int stop_signal = 0;
  // Before any thread starts: the servers' threads inherit the blocked SIGINT/SIGTERM.
  SignalWatcher watcher(
      [&](int signo) {
        std::lock_guard lock(mu);
        if (stop_signal == 0) stop_signal = signo;
        cv.notify_all();
      },
      nullptr, std::chrono::milliseconds(500));

  // Idle and slow connections cost a descriptor each (no thread): allow as many as the hard
  // limit does, so that --max-http-connections, not the default soft limit of 1024, decides.
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);  // a raise refused leaves the old limit: still works
  }
  ONCEFLOW_RETURN_IF_ERROR(CreateDirs(o.data_dir));
  ONCEFLOW_ASSIGN_OR_RETURN(auto ingestor, receiver::Ingestor::Open(ingest));
  ONCEFLOW_ASSIGN_OR_RETURN(auto http_server, receiver::HttpServer::Start(ingestor.get(), http));
  std::unique_ptr<receiver::TcpServer> tcp_server;
  if (!o.tcp.empty()) {
    ONCEFLOW_ASSIGN_OR_RETURN(tcp_server, receiver::TcpServer::Start(ingestor.get(), tcp));
  }
  std::string where = "http://" + http.host + ":" + std::to_string(http_server->port());
  if (tcp_server) where += " tcp://" + tcp.host + ":" + std::to_string(tcp_server->port());
  std::fprintf(stderr, "onceflow serve: listening on %s (data %s%s)\n", where.c_str(),
               o.data_dir.c_str(), http.token.empty() ? "" : ", bearer token required");

  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return stop_signal != 0; });
    std::fprintf(stderr, "onceflow serve: %s: finishing the requests in flight\n",
                 strsignal(stop_signal));
  }
  http_server->Stop();
  if (tcp_server) tcp_server->Stop();
  Status closed = ingestor->Close();
  std::fprintf(stderr, "onceflow serve: stopped after %llu acknowledged requests, %llu records\n",
               static_cast<unsigned long long>(ingestor->metrics().acks()),
               static_cast<unsigned long long>(ingestor->metrics().records()));
  return closed.WithContext("snapshotting the producer state at shutdown");
}

void AddServeVerb(CLI::App* app, const std::function<void(CLI::App*)>& add_data_option,
                  const std::string* data_flag, std::function<Status()>* action) {
  static ServeOptions options;  // the parsed flags outlive the parse: the action reads them
  ServeOptions* o = &options;
  CLI::App* cmd = app->add_subcommand(
      "serve", "Receive records over HTTP (and TCP) into the embedded log's topics");
  cmd->footer(
      "POST /topics/{topic}/records with newline-separated records, or a JSON array with "
      "Content-Type: application/json. Optional headers Onceflow-Producer-Id and "
      "Onceflow-Sequence (the first record's sequence) make retries safe: a repeat of a stored "
      "(producer, sequence) is answered with the original offsets and stores nothing. The "
      "answer (200, JSON with partition, base_offset, last_offset, count, duplicate) comes only "
      "once the records are durable (after the group commit's fdatasync). GET /health, GET "
      "/metrics (Prometheus). The TCP framing is in docs/formats/receiver_tcp.md. SIGINT or "
      "SIGTERM: stop accepting, finish the requests in flight, snapshot, exit 0.");
  cmd->add_option("--http", o->http, "HTTP address HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--tcp", o->tcp, "Also serve the framed TCP protocol on HOST:PORT")
      ->option_text("HOST:PORT");
  cmd->add_option("--token-file", o->token_file,
                  "Require 'Authorization: Bearer <token>' (TCP: the frame's token) with the "
                  "token in this file")
      ->option_text("FILE");
  cmd->add_option("--max-request-bytes", o->max_request_bytes,
                  "Largest request: bytes of records per HTTP body or TCP frame (413 beyond)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-request-records", o->max_request_records, "Most records per request")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-in-flight-bytes", o->max_in_flight_bytes,
                  "Request bytes admitted and not yet acknowledged; beyond it requests get 503 "
                  "with Retry-After")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--producer-expiry-s", o->producer_expiry_s,
                  "Forget a producer id idle this long (-1: never); its next request must then "
                  "start again at sequence 0")
      ->capture_default_str();
  cmd->add_option("--snapshot-interval-s", o->snapshot_interval_s,
                  "Snapshot the producer tables this often (they are rebuilt from the log since "
                  "the last snapshot at start)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--http-threads", o->http_threads,
                  "HTTP requests with a body processed at once (one thread each; an idle or "
                  "slow connection holds none, GET /health and /metrics have threads of their "
                  "own)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-http-connections", o->max_http_connections,
                  "HTTP connections open at once; a further one is answered 503 with "
                  "Retry-After and closed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-tcp-connections", o->max_tcp_connections, "TCP connections at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_data_option(cmd);
  cmd->callback([o, data_flag, action] {
    *action = [o, data_flag] {
      o->data_dir = ResolveDataDir(*data_flag);
      return RunServe(*o);
    };
  });
}

}  // namespace onceflow::cli
