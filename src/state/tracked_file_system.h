// The RocksDB file system of the crash tests: RocksDB's default file system, with every change
// it makes to a file reported to the power-loss tracker (util/power_loss.h) and the file-layer
// fault points (`file_write`, `file_sync`, `file_rename`) reaching it, so that a simulated power
// loss forgets exactly what RocksDB had not made durable and `eio`/`enospc` reach RocksDB as
// I/O errors (IOStatus IOError / NoSpace).
//
// What it reports (every call inside a power_loss::ChangeGuard):
//   - writable files (WAL, MANIFEST, SST, CURRENT's temporary, OPTIONS, the state store's commit
//     files): each Append/PositionedAppend's region (BeforeWrite, at the file's size for an
//     append), Truncate (BeforeTruncate), a successful Sync/Fsync (AfterSync). Close is not
//     reported: the posix file's cut to its written size there only drops space it preallocated
//     past the file's size (fallocate with FALLOC_FL_KEEP_SIZE), which no reader sees;
//     RangeSync is not a sync (sync_file_range does not make data durable) and reports nothing;
//   - a file created by NewWritableFile/ReopenWritableFile, a directory by CreateDir, a hard link
//     by LinkFile (an ingested commit file): AfterCreate; RenameFile: BeforeRename; DeleteFile:
//     BeforeRemove; an existing file reopened to be rewritten: BeforeTruncate to 0;
//   - a successful Fsync/FsyncWithDirOptions of a directory RocksDB opened (NewDirectory):
//     AfterDirSync.
// Not reported: the info LOG (diagnostics), reads, and the LOCK file (no data).
//
// Descriptors: the hooks take a descriptor of the file, which RocksDB's file objects do not
// expose; the wrapper opens one of its own (read-only) per writable file and closes it with the
// file. RocksDB's LOCK file is never opened by it, so its lock is not disturbed.
#pragma once

namespace rocksdb {
class Env;
}

namespace onceflow::state {

// The Env to put in Options::env when power-loss tracking is on or a fault point is armed
// (the default file system wrapped as above; one per process, never freed); nullptr otherwise,
// so production opens RocksDB with its default Env untouched.
rocksdb::Env* TrackedEnvIfWanted();

}  // namespace onceflow::state
