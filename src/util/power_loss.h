// Simulated power loss, for crash tests. Off unless enabled (a `power_loss` fault action armed, or
// Enable() in a test); then every layer that changes files — File and the directory helpers
// here, the SQLite VFS shim, the RocksDB FileSystem wrapper — reports each change through these
// hooks, and the tracker remembers what the disk could still forget:
//
//   - the bytes written to a file since its last fdatasync/fsync (their old contents, and the
//     file's size before them);
//   - creations, renames and removals in a directory since that directory's last fsync.
//
// Forget() then undoes exactly that, as POSIX lets a power loss do: unsynced regions get their
// old bytes back, files are cut to their synced size, and unsynced creations, renames and
// removals are undone (newest first). LoseAndExit() forgets and ends the process at once with
// kExitCode, every thread with it, as the power going out would.
//
// Files are tracked by inode, so a rename or a second descriptor does not lose their history.
// Not tracked: RemoveAll of a whole tree (it stays removed) and memory-mapped writes (onceflow
// makes none).
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "onceflow/status.h"

namespace onceflow::power_loss {

// The exit code of a simulated power loss, so that a test can tell it from a crash or a failure.
constexpr int kExitCode = 87;

// Whether changes are tracked. One relaxed atomic load.
bool Enabled();
// Starts tracking. Files changed before are taken as durable as they are.
void Enable();

// Held around every tracked change (hook, system call, and the hook after it): a power loss takes
// the same lock exclusively, so that it never sees half a change. Does nothing when tracking is
// off.
class ChangeGuard {
 public:
  ChangeGuard();
  ~ChangeGuard();
  ChangeGuard(const ChangeGuard&) = delete;
  ChangeGuard& operator=(const ChangeGuard&) = delete;

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

// The hooks. Each is a no-op when tracking is off; `fd` is any open descriptor of the file.
void BeforeWrite(int fd, uint64_t offset, uint64_t length);
void BeforeTruncate(int fd, uint64_t new_size);
// An fdatasync or fsync of the file returned success: what was written is durable.
void AfterSync(int fd);
// `path` (a file or a directory) did not exist and now does.
void AfterCreate(const std::string& path);
void BeforeRename(const std::string& from, const std::string& to);
void BeforeRemove(const std::string& path);
// fsync of directory `dir` returned success: creations, renames and removals in it are durable.
void AfterDirSync(const std::string& dir);

// Undoes every unsynced change, as a power loss would, and starts afresh (nothing pending).
// For tests in one process: close or forget every File of the lost files first.
Status Forget();
// Forget() and end the process at once with kExitCode. `where` is said on stderr.
[[noreturn]] void LoseAndExit(std::string_view where);

// How many changes are pending (not yet durable): for tests of the tracker itself.
size_t PendingChanges();

}  // namespace onceflow::power_loss
