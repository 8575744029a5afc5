// kHangGuard: how long a test waits for an effect before it gives up.
#pragma once

#include <chrono>

namespace onceflow::testing {

// A guard against a hang, never a measure of speed: a test waits for the effect it needs (a
// line printed, a row written, a process exited) and gives up only after this long. A loaded
// machine (a sanitizer build, other jobs on two cores) takes many times longer than a quiet one
// and must not fail for it; a hang still ends, well within ctest's timeout.
inline constexpr std::chrono::minutes kHangGuard{5};

}  // namespace onceflow::testing
