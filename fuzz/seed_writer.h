// The seed programs' common part: writes named seed files into the directory given on the
// command line (`NAME_seeds DIR`), replacing files of the same names.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace onceflow::fuzz {

using Seeds = std::vector<std::pair<std::string, std::string>>;  // file name, bytes

// The body of main: 0 when every seed was written, else non-zero after one line on stderr.
int WriteSeeds(int argc, char** argv, const Seeds& seeds);

// `bytes` behind the fuzz target's mode byte.
inline std::string WithMode(char mode, const std::string& bytes) {
  return std::string(1, mode) + bytes;
}

}  // namespace onceflow::fuzz
