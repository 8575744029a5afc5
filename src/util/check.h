// ONCEFLOW_CHECK and ONCEFLOW_DCHECK: preconditions (the `REQUIRES:` of a comment) whose
// violation is a programmer error that would otherwise corrupt data or produce wrong results.
// A failure prints one line, `file:line: CHECK failed: cond[: message]`, to stderr and aborts.
//
//   ONCEFLOW_CHECK(batch > batch_) << "batch " << batch.value() << " after " << batch_.value();
//   ONCEFLOW_DCHECK(!records.empty());  // a hot path: debug builds only
//
// ONCEFLOW_CHECK is always on. ONCEFLOW_DCHECK is on only without NDEBUG (Debug builds, the
// ASan+UBSan run of `make test`; RelWithDebInfo and Release define NDEBUG): there its condition is
// compiled but never evaluated, so it may call anything. Errors that depend on input or the
// environment are a Status, never a CHECK.
#pragma once

#include <sstream>
#include <string>

namespace onceflow::internal {

// Collects the optional message and, when destroyed at the end of the failing statement, prints
// the line and aborts.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition)
      : file_(file), line_(line), condition_(condition) {}
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  [[noreturn]] ~CheckFailure();

  std::ostream& stream() { return message_; }

 private:
  const char* file_;
  int line_;
  const char* condition_;
  std::ostringstream message_;
};

// Turns the stream expression into void, so that both branches of the macro's ?: are void.
// operator& binds looser than <<, so the whole message is streamed first.
struct CheckVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace onceflow::internal

// NOLINTBEGIN(bugprone-macro-parentheses): parentheses around the ?: would end the expression
// before the caller's `<< message`, which must stream into CheckFailure.
#define ONCEFLOW_CHECK(cond)                     \
  (__builtin_expect(static_cast<bool>(cond), 1)) \
      ? (void)0                                  \
      : ::onceflow::internal::CheckVoidify() &   \
            ::onceflow::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()
// NOLINTEND(bugprone-macro-parentheses)

#ifdef NDEBUG
#define ONCEFLOW_DCHECK_IS_ON() false
// Compiled (the condition and message must stay valid code) but never evaluated.
#define ONCEFLOW_DCHECK(cond) \
  while (false) ONCEFLOW_CHECK(cond)
#else
#define ONCEFLOW_DCHECK_IS_ON() true
#define ONCEFLOW_DCHECK(cond) ONCEFLOW_CHECK(cond)
#endif
