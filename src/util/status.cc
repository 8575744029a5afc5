// Status formatting.
#include "onceflow/status.h"

namespace onceflow {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kCorruption: return "corruption";
    case StatusCode::kIoError: return "io_error";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kAborted: return "aborted";
    case StatusCode::kBusy: return "busy";
    case StatusCode::kFenced: return "fenced";
    case StatusCode::kAlreadyCommitted: return "already_committed";
    case StatusCode::kOutOfRange: return "out_of_range";
  }
  return "unknown";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  Status s = *this;
  s.message_ = std::string(context) + ": " + message_;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace onceflow
