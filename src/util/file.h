// File: a thin RAII layer over POSIX file descriptors whose every error is a Status naming the
// path, plus the few directory operations the storage code needs (atomic replace, dir fsync).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "onceflow/status.h"

namespace onceflow {

// An open file. Move-only; closes on destruction. Positional reads and writes (pread/pwritev)
// may run from several threads at once.
class File {
 public:
  enum class Mode { kReadOnly, kReadWrite, kCreate /* read-write, created if missing */ };

  static Result<File> Open(const std::string& path, Mode mode);

  File() = default;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  // Reads up to n bytes at `offset` into dst; returns how many were read (< n only at EOF).
  Result<size_t> ReadAt(uint64_t offset, size_t n, char* dst) const;
  // Writes all of `data` at `offset`.
  Status WriteAt(uint64_t offset, std::string_view data);
  // Writes all the buffers back to back starting at `offset` (pwritev, restarting on short writes).
  Status WriteAt(uint64_t offset, std::span<const iovec> buffers);
  // fdatasync: the data written so far (and the size, if it changed) are durable on return.
  Status Sync();
  Status Truncate(uint64_t size);
  Result<uint64_t> Size() const;
  // Tells the kernel the file will be read sequentially (readahead); a hint, errors ignored.
  void AdviseSequential() const;

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }

 private:
  File(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_ = -1;
  std::string path_;
};

// A Status for a failed system call: "<what> <path>: <strerror(errno)>". A full disk (ENOSPC,
// EDQUOT) is "disk full: <path> (<what>: <strerror>)", retryable; a read-only file system is
// said first as well.
Status ErrnoStatus(std::string_view what, std::string_view path, int err);

// How a full disk's Status starts (whatever context is added before it later).
constexpr std::string_view kDiskFull = "disk full: ";
// Whether `s` is a write refused for want of space (ENOSPC, EDQUOT): an outage that ends when
// space is freed, not damage. Check retryable() too: a log poisoned by a failed fdatasync says
// disk full but is not retryable.
bool IsDiskFull(const Status& s);

bool PathExists(const std::string& path);
// Creates `path` and its missing parents, durably: the parent of each new level is fsynced.
Status CreateDirs(const std::string& path);
// Lists the names in a directory (without "." and ".."), sorted.
Result<std::vector<std::string>> ListDir(const std::string& path);
Status RemoveFile(const std::string& path);
// Removes a directory and everything under it. Missing is not an error.
Status RemoveAll(const std::string& path);
Status RenameFile(const std::string& from, const std::string& to);
// fsyncs a directory so that creates, renames and unlinks in it are durable.
Status SyncDir(const std::string& path);
Result<std::string> ReadFileToString(const std::string& path);
// Replaces `path` with `contents` atomically and durably: write a temp file, fsync, rename,
// fsync the directory. A crash leaves either the old or the new contents.
Status WriteFileAtomically(const std::string& path, std::string_view contents);
// Bytes a directory tree occupies on disk (allocated blocks, not apparent size).
Result<uint64_t> DiskUsage(const std::string& path);
std::string JoinPath(std::string_view a, std::string_view b);
std::string DirName(const std::string& path);

}  // namespace onceflow
