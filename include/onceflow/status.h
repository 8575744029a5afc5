// Status and Result<T>: how every onceflow operation reports success or failure.
// A Status carries a code, a message and a retryable flag that tells the engine's retry policy
// whether trying again can help.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace onceflow {

enum class StatusCode : unsigned char {
  kOk = 0,
  kNotFound,
  kCorruption,
  kIoError,
  kInvalidArgument,
  kAborted,
  kBusy,
  kFenced,
  kAlreadyCommitted,
  kOutOfRange,
};

// Returns a stable lower-case name for `code` ("not_found", "corruption", ...).
std::string_view StatusCodeName(StatusCode code);

// The outcome of an operation. Cheap to copy when ok (no allocation).
class [[nodiscard]] Status {
 public:
  Status() = default;

  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  // I/O errors are retryable by default: a full disk or a flaky device may recover.
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg), true}; }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
  static Status Busy(std::string msg) { return {StatusCode::kBusy, std::move(msg), true}; }
  static Status Fenced(std::string msg) { return {StatusCode::kFenced, std::move(msg)}; }
  static Status AlreadyCommitted(std::string msg) {
    return {StatusCode::kAlreadyCommitted, std::move(msg)};
  }
  static Status OutOfRange(std::string msg) { return {StatusCode::kOutOfRange, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool retryable() const { return retryable_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsIoError() const { return code_ == StatusCode::kIoError; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsOutOfRange() const { return code_ == StatusCode::kOutOfRange; }

  // Returns a copy with the retryable flag set to `retryable`.
  Status WithRetryable(bool retryable) const {
    Status s = *this;
    s.retryable_ = retryable;
    return s;
  }
  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(std::string_view context) const;

  // "ok", or "<code name>: <message>".
  std::string ToString() const;

  // Makes dropping an error explicit and greppable: `s.IgnoreError(); // why`.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Status(StatusCode code, std::string msg, bool retryable = false)
      : code_(code), retryable_(retryable), message_(std::move(msg)) {}

  StatusCode code_ = StatusCode::kOk;
  bool retryable_ = false;
  std::string message_;
};

// A value or the Status that explains why there is none. Never holds an ok Status. Like
// Status, a Result cannot be dropped silently: a caller that means to ignore one says so
// (`(void)` with a comment, or `.error().IgnoreError()`).
template <typename T>
class [[nodiscard]] Result : public std::expected<T, Status> {
 public:
  using Base = std::expected<T, Status>;
  using Base::Base;
  Result(Base base) : Base(std::move(base)) {}  // NOLINT(google-explicit-constructor)
};

// Wraps an error Status for returning from a function that returns Result<T>.
inline std::unexpected<Status> Err(Status s) { return std::unexpected<Status>(std::move(s)); }

namespace internal {
inline Status ToStatus(const Status& s) { return s; }
template <typename T>
Status ToStatus(const Result<T>& r) {
  return r.has_value() ? Status::Ok() : r.error();
}
}  // namespace internal

}  // namespace onceflow

#define ONCEFLOW_CONCAT_INNER(a, b) a##b
#define ONCEFLOW_CONCAT(a, b) ONCEFLOW_CONCAT_INNER(a, b)

// Returns the Status of `expr` (a Status or a Result) from the enclosing function if it failed.
// Works in functions returning Status or Result<T>.
#define ONCEFLOW_RETURN_IF_ERROR(expr)                                                     \
  do {                                                                                     \
    ::onceflow::Status _of_status = ::onceflow::internal::ToStatus((expr));                \
    if (!_of_status.ok()) return ::onceflow::internal::ErrorReturn(std::move(_of_status)); \
  } while (0)
// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration (`auto x`), `tmp` a new name.
// `ONCEFLOW_ASSIGN_OR_RETURN(auto x, F())` declares x from a Result, or returns its error.
#define ONCEFLOW_ASSIGN_OR_RETURN(lhs, expr) \
  ONCEFLOW_ASSIGN_OR_RETURN_IMPL(ONCEFLOW_CONCAT(_of_result_, __LINE__), lhs, expr)
#define ONCEFLOW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                                    \
  auto tmp = (expr);                                                                      \
  if (!tmp.has_value()) return ::onceflow::internal::ErrorReturn(std::move(tmp).error()); \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
namespace onceflow::internal {
// Converts to either Status or std::unexpected<Status>, whichever the function returns.
struct ErrorReturn {
  explicit ErrorReturn(Status s) : status(std::move(s)) {}
  operator Status() && { return std::move(status); }  // NOLINT(google-explicit-constructor)
  template <typename T>
  operator Result<T>() && {  // NOLINT(google-explicit-constructor)
    return std::unexpected<Status>(std::move(status));
  }
  Status status;
};
}  // namespace onceflow::internal
