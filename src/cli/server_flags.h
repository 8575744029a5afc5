// The flags every serving verb shares (`serve`, `ui`, `run --ui`, `produce`): a HOST:PORT to
// listen on or connect to, and a bearer token read from a file.
#pragma once

#include <string>

#include "onceflow/status.h"

namespace onceflow::cli {

// Parses "HOST:PORT" (port 0..65535; the host is what follows up to the last colon) into
// `*host` and `*port`; otherwise invalid_argument naming `flag_name` and the value. Binding
// the address is the servers' (receiver::ListenTcp).
Status ParseHostPort(const std::string& flag, const char* flag_name, std::string* host, int* port);

// Reads a token file: its contents without surrounding whitespace; an empty token is an error
// naming the file.
Result<std::string> ReadTokenFile(const std::string& path);

}  // namespace onceflow::cli
