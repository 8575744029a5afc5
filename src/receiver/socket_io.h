// Blocking socket helpers for the TCP server and client: listen, connect, read and write all.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "onceflow/status.h"

namespace onceflow::receiver {

// A listening TCP socket on host:port (port 0: any); returns the fd, *bound_port the port.
Result<int> ListenTcp(const std::string& host, int port, int* bound_port);
// A connected TCP socket (TCP_NODELAY set).
Result<int> ConnectTcp(const std::string& host, int port);
// Reads exactly n bytes. Returns false at a clean EOF before the first byte; an EOF after it,
// or an error, is an io_error.
Result<bool> ReadFull(int fd, char* dst, size_t n);
Status WriteFull(int fd, std::string_view data);

}  // namespace onceflow::receiver
