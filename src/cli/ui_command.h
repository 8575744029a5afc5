// `onceflow ui`: the web UI, JSON API and Prometheus metrics of a data directory's pipelines.
#pragma once

#include <functional>
#include <string>

#include "onceflow/status.h"

namespace CLI {
class App;
}

namespace onceflow::cli {

struct UiOptions {
  std::string data_dir;
  std::string http = "127.0.0.1:4040";  // HOST:PORT; PORT 0 picks a free port
  std::string token_file;               // empty: no authentication
};

// Serves until SIGINT or SIGTERM. Prints "onceflow ui: serving http://HOST:PORT ..." to stderr
// once listening; a port in use is an error naming the address.
Status RunUi(const UiOptions& options);

// Adds the `ui` verb to `app` (see AddPipelineVerbs for the arguments).
void AddUiVerb(CLI::App* app, const std::function<void(CLI::App*)>& add_data_option,
               const std::string* data_flag, std::function<Status()>* action);

}  // namespace onceflow::cli
