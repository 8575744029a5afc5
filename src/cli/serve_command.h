// `onceflow serve`: the receiver (HTTP and framed TCP ingestion into the embedded log). Its
// command-line definition lives here, apart from main.cc, like the pipeline verbs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "onceflow/status.h"

namespace CLI {
class App;
}

namespace onceflow::cli {

struct ServeOptions {
  std::string data_dir;
  std::string http = "127.0.0.1:8080";  // HOST:PORT; PORT 0 picks a free port
  std::string tcp;                      // empty: no TCP endpoint
  std::string token_file;               // empty: no authentication
  uint64_t max_request_bytes = 16u << 20;
  uint32_t max_request_records = 100000;
  uint64_t max_in_flight_bytes = 64u << 20;
  int64_t producer_expiry_s = 86400;
  int64_t snapshot_interval_s = 30;
  int http_threads = 128;
  int max_http_connections = 1024;
  int max_tcp_connections = 256;
};

// Serves until SIGINT or SIGTERM, then stops accepting, lets the requests in flight finish
// (their group commits complete and are acknowledged), snapshots the producer tables and
// returns. Prints "listening on ..." with the bound addresses to stderr once serving.
Status RunServe(const ServeOptions& options);

// Adds the `serve` verb to `app` (see AddPipelineVerbs for the arguments).
void AddServeVerb(CLI::App* app, const std::function<void(CLI::App*)>& add_data_option,
                  const std::string* data_flag, std::function<Status()>* action);

}  // namespace onceflow::cli
