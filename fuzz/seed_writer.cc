// Writes seed files (seed_writer.h) with plain stdio: the seed programs need nothing else.
#include "seed_writer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace onceflow::fuzz {

int WriteSeeds(int argc, char** argv, const Seeds& seeds) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argc > 0 ? argv[0] : "seeds");
    return 2;
  }
  const std::string dir = argv[1];
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "%s: cannot create: %s\n", dir.c_str(), std::strerror(errno));
    return 1;
  }
  for (const auto& [name, bytes] : seeds) {
    const std::string path = dir + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      std::fprintf(stderr, "%s: cannot open: %s\n", path.c_str(), std::strerror(errno));
      return 1;
    }
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !written) {
      std::fprintf(stderr, "%s: cannot write: %s\n", path.c_str(), std::strerror(errno));
      return 1;
    }
  }
  return 0;
}

}  // namespace onceflow::fuzz
