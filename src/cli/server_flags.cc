// HOST:PORT and token-file flags of the serving verbs.
#include "cli/server_flags.h"

#include <charconv>

#include "util/file.h"

namespace onceflow::cli {

Status ParseHostPort(const std::string& flag, const char* flag_name, std::string* host, int* port) {
  const size_t colon = flag.rfind(':');
  int p = -1;
  if (colon != std::string::npos && colon > 0) {
    auto [end, ec] = std::from_chars(flag.data() + colon + 1, flag.data() + flag.size(), p);
    if (ec != std::errc() || end != flag.data() + flag.size()) p = -1;
  }
  if (p < 0 || p > 65535) {
    return Status::InvalidArgument(std::string(flag_name) + " '" + flag +
                                   "' must be HOST:PORT, e.g. 127.0.0.1:8080");
  }
  *host = flag.substr(0, colon);
  *port = p;
  return Status::Ok();
}

Result<std::string> ReadTokenFile(const std::string& path) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  const size_t b = text.find_first_not_of(" \t\r\n");
  const size_t e = text.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return Err(Status::InvalidArgument("token file " + path + " is empty"));
  }
  return text.substr(b, e - b + 1);
}

}  // namespace onceflow::cli
