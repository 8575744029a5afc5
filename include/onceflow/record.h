// Record: what a source yields and a log stores: an optional key, a value, a timestamp and
// optional headers. RecordView borrows its bytes; Record owns them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace onceflow {

struct HeaderView {
  std::string_view key;
  std::string_view value;
};

// A record whose bytes live elsewhere (in a batch buffer, in a caller's strings). Valid only as
// long as what it points into.
struct RecordView {
  std::optional<std::string_view> key;  // nullopt: no key (not the same as an empty key)
  std::string_view value;
  int64_t timestamp_ms = 0;  // milliseconds since the Unix epoch
  std::span<const HeaderView> headers;
};

struct Header {
  std::string key;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};

// An owning record, for tests and for callers that keep records past their batch.
struct Record {
  std::optional<std::string> key;
  std::string value;
  int64_t timestamp_ms = 0;
  std::vector<Header> headers;

  friend bool operator==(const Record&, const Record&) = default;
};

}  // namespace onceflow
