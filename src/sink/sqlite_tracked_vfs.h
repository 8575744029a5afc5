// The SQLite VFS shim of the crash tests: SQLite's own unix VFS, with every change it makes to a
// file reported to the power-loss tracker (util/power_loss.h) and the file-layer fault points
// (`file_write`, `file_sync`) reaching it, so that a simulated power loss forgets exactly what
// SQLite had not made durable yet and `eio`/`enospc` reach SQLite as its I/O errors.
//
// What it reports, file by file (every call inside a power_loss::ChangeGuard):
//   - xWrite: the region's old bytes (BeforeWrite); xTruncate and SQLITE_FCNTL_SIZE_HINT: the
//     size before (BeforeTruncate); a successful xSync: the file durable (AfterSync);
//   - xOpen that creates a file: AfterCreate; xDelete: BeforeRemove, and with its `syncDir`
//     flag the directory durable after it (AfterDirSync);
//   - directory syncs the wrapper cannot see: the unix VFS fsyncs the directory of a rollback
//     journal, super-journal or WAL file opened with SQLITE_OPEN_CREATE at that file's first
//     xSync (its UNIXFILE_DIRSYNC flag; this build of SQLite does not define
//     SQLITE_DISABLE_DIRSYNC). The shim reports AfterDirSync of that directory when that first
//     xSync returns success, which is when the unix VFS has done it.
// Not reported: the WAL index (the -shm file, xShm* and its mmap): it is never synced and needs
// no durability, since the first connection after a restart rebuilds it from the WAL. Temporary
// files (no name, or delete-on-close) are not tracked either. Reads go straight through.
//
// Descriptors: the hooks take a descriptor of the file, which the unix VFS does not expose; the
// shim opens one of its own (read-only) per file, shared by every connection that has the file
// open and closed after the last one closed it, since POSIX drops a process's advisory locks on
// a file when any of its descriptors closes (the unix VFS defers its own closes for the same
// reason). The power-loss tracker's descriptors are not so careful (it closes a file's when the
// file is synced): while tracking is on, another *process* must not open the same database
// (the crash tests read it only after the process under test ended).
#pragma once

namespace onceflow::sink {

// Registers the shim as SQLite's default VFS if power-loss tracking is on or a fault point is
// armed, once per process; does nothing otherwise (production runs the unix VFS untouched).
// Every connection opened after it returns goes through the shim: the SQLite sink's, its
// checkpointer's, and any other. Called by SqliteDb::Open before it opens. Thread-safe.
void InstallTrackedVfsIfWanted();

// Whether the shim is SQLite's default VFS, for tests.
bool TrackedVfsInstalled();

}  // namespace onceflow::sink
