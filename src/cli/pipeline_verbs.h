// The command-line definitions of the pipeline verbs (run, status, verify and the ledger
// demo), kept apart from main.cc, which defines the log verbs.
#pragma once

#include <functional>
#include <string>

#include "onceflow/status.h"

namespace CLI {
class App;
}

namespace onceflow::cli {

// Adds the verbs to `app`. `add_data_option` adds the --data option (stored in *data_flag) to a
// verb. When a verb is chosen, its callback sets *action to the work to do after parsing.
// "*data_flag" and "*action" must outlive the parse and the action.
void AddPipelineVerbs(CLI::App* app, const std::function<void(CLI::App*)>& add_data_option,
                      const std::string* data_flag, std::function<Status()>* action);

}  // namespace onceflow::cli
