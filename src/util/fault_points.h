// Named fault points: every step boundary of the commit protocol calls faults::Hit("name"), and
// tests arm points to crash, fail or stall there. Armed from ONCEFLOW_FAULTS:
//
//   ONCEFLOW_FAULTS="mid_sink_write=throw@0.05,task=slow:100ms@0.1,after_sink_commit=crash#3"
//
// Comma-separated `point=action`; actions `crash` (immediate _exit(kCrashExitCode), no
// clean-up, like kill -9), `throw` (the step fails with an injected, retryable error),
// `slow:DURATION` (sleep: 250ms, 2s, 500us), `stop` (print "onceflow: fault point P: stopped"
// and SIGSTOP the whole process: a test that runs it as a child acts then and sends SIGCONT),
// `pause` (block until Release: for tests within one process, which wait for it with WaitPaused
// instead of guessing a duration), `power_loss` (every change to a file not yet made durable by
// an fsync is forgotten, as a power cut would, and the process ends with power_loss::kExitCode:
// see util/power_loss.h; arming it starts the tracking), `stop_power_loss` (as `stop`, and the
// power goes out when the process is continued: the state another process saw while it was
// stopped is then lost), `eio` and `enospc` (at the file layer's
// points file_write, file_sync and file_rename, that call fails with that errno; at other points
// the step fails with an I/O error that is not retryable); optional
// `@PROBABILITY` (0..1, default 1) and `#N` (fire only at the Nth hit of that point, counted per
// process) or `#N-M` (at hits N to M: e.g. a disk that is full for a while, then has space).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "onceflow/status.h"

namespace onceflow::faults {

// The exit code of a `crash` action, so a test can tell an injected crash from a real one.
constexpr int kCrashExitCode = 86;

// The points the engine defines; Arm refuses other names (a typo would silently test nothing).
const std::vector<std::string>& KnownPoints();
// The points of the commit protocol, in the order a batch meets them (KnownPoints without the
// receiver's): every pipeline run passes each of them.
const std::vector<std::string>& PipelinePoints();

// Arms `spec` (the syntax above), replacing whatever was armed. invalid_argument names the bad
// part of the spec.
Status Arm(std::string_view spec);
// Arms ONCEFLOW_FAULTS if set. Called once by main.
Status ArmFromEnvironment();
// Disarms every point and releases every thread paused at one.
void DisarmAll();

// `pause`: blocks until a thread is paused at `point` (returns at once if one is), so that a
// test acts at exactly that step of a commit, however busy the machine is.
void WaitPaused(std::string_view point);
// Lets the threads paused at `point` go on (and those that reach it later: a released point
// no longer pauses).
void Release(std::string_view point);

// Called by the file layer before a write, sync or rename: 0, or the errno that call must fail
// with (`eio`, `enospc`; `throw` means EIO here). Other actions act as in Hit.
int HitIo(std::string_view point);

// Whether any point is armed. The stores' tracking layers (the SQLite VFS shim, the RocksDB file
// system wrapper) are put in place only then or when power_loss::Enabled(): nothing otherwise.
bool AnyArmed();

// Called at a fault point: returns Ok unless the point is armed and fires. `crash` does not
// return. Thread-safe; costs one relaxed atomic load when nothing is armed.
Status Hit(std::string_view point);

}  // namespace onceflow::faults
