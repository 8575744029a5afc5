// The RocksDB file system wrapper that reports file changes to the power-loss tracker.
#include "state/tracked_file_system.h"

#include <fcntl.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "util/fault_points.h"
#include "util/power_loss.h"

namespace onceflow::state {
namespace {

using rocksdb::DataVerificationInfo;
using rocksdb::FileOptions;
using rocksdb::FSDirectory;
using rocksdb::FSRandomRWFile;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

// The injected error of a file-layer fault point (`errno_value` from faults::HitIo).
// NOLINTBEGIN(clang-analyzer-cplusplus.NewDeleteLeaks): the analyzer loses the message buffer
// inside IOStatus's constructor (rocksdb/io_status.h), which the status owns and frees.
IOStatus Injected(int errno_value, const char* call, const std::string& path) {
  const std::string msg =
      std::string(call) + " " + path + ": " + std::strerror(errno_value) + " (injected)";
  return errno_value == ENOSPC ? IOStatus::NoSpace(msg) : IOStatus::IOError(msg);
}
// NOLINTEND(clang-analyzer-cplusplus.NewDeleteLeaks)

int OpenOwnFd(const std::string& path) { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// A writable file whose changes are reported. Owns the wrapped file and a descriptor of its own.
class TrackedWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedWritableFile(std::unique_ptr<FSWritableFile> file, std::string path)
      : FSWritableFileOwnerWrapper(std::move(file)),
        path_(std::move(path)),
        fd_(OpenOwnFd(path_)) {}
  ~TrackedWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  TrackedWritableFile(const TrackedWritableFile&) = delete;
  TrackedWritableFile& operator=(const TrackedWritableFile&) = delete;

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_write"); err != 0) return Injected(err, "write", path_);
    power_loss::ChangeGuard guard;
    BeforeWrite(target()->GetFileSize(options, dbg), data.size());
    return target()->Append(data, options, dbg);
  }
  IOStatus Append(const Slice& data, const IOOptions& options, const DataVerificationInfo& info,
                  IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_write"); err != 0) return Injected(err, "write", path_);
    power_loss::ChangeGuard guard;
    BeforeWrite(target()->GetFileSize(options, dbg), data.size());
    return target()->Append(data, options, info, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_write"); err != 0) return Injected(err, "write", path_);
    power_loss::ChangeGuard guard;
    BeforeWrite(offset, data.size());
    return target()->PositionedAppend(data, offset, options, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            const DataVerificationInfo& info, IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_write"); err != 0) return Injected(err, "write", path_);
    power_loss::ChangeGuard guard;
    BeforeWrite(offset, data.size());
    return target()->PositionedAppend(data, offset, options, info, dbg);
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    if (fd_ >= 0) power_loss::BeforeTruncate(fd_, size);
    return target()->Truncate(size, options, dbg);
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_sync"); err != 0) {
      return Injected(err, "fdatasync", path_);
    }
    power_loss::ChangeGuard guard;
    return Synced(target()->Sync(options, dbg));
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_sync"); err != 0) return Injected(err, "fsync", path_);
    power_loss::ChangeGuard guard;
    return Synced(target()->Fsync(options, dbg));
  }

 private:
  void BeforeWrite(uint64_t offset, uint64_t length) {
    if (fd_ >= 0) power_loss::BeforeWrite(fd_, offset, length);
  }
  IOStatus Synced(IOStatus s) {
    if (s.ok() && fd_ >= 0) power_loss::AfterSync(fd_);
    return s;
  }

  const std::string path_;
  const int fd_;  // -1: not tracked (the file could not be opened a second time)
};

// A file written in place (RocksDB uses it for external files it rewrites; rare).
class TrackedRandomRWFile : public rocksdb::FSRandomRWFileOwnerWrapper {
 public:
  TrackedRandomRWFile(std::unique_ptr<FSRandomRWFile> file, std::string path)
      : FSRandomRWFileOwnerWrapper(std::move(file)),
        path_(std::move(path)),
        fd_(OpenOwnFd(path_)) {}
  ~TrackedRandomRWFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  TrackedRandomRWFile(const TrackedRandomRWFile&) = delete;
  TrackedRandomRWFile& operator=(const TrackedRandomRWFile&) = delete;

  IOStatus Write(uint64_t offset, const Slice& data, const IOOptions& options,
                 IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_write"); err != 0) return Injected(err, "write", path_);
    power_loss::ChangeGuard guard;
    if (fd_ >= 0) power_loss::BeforeWrite(fd_, offset, data.size());
    return target()->Write(offset, data, options, dbg);
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_sync"); err != 0) {
      return Injected(err, "fdatasync", path_);
    }
    power_loss::ChangeGuard guard;
    IOStatus s = target()->Sync(options, dbg);
    if (s.ok() && fd_ >= 0) power_loss::AfterSync(fd_);
    return s;
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_sync"); err != 0) return Injected(err, "fsync", path_);
    power_loss::ChangeGuard guard;
    IOStatus s = target()->Fsync(options, dbg);
    if (s.ok() && fd_ >= 0) power_loss::AfterSync(fd_);
    return s;
  }

 private:
  const std::string path_;
  const int fd_;
};

// A directory whose successful fsync makes the creations, renames and removals in it durable.
class TrackedDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  TrackedDirectory(std::unique_ptr<FSDirectory> dir, std::string path)
      : FSDirectoryWrapper(std::move(dir)), path_(std::move(path)) {}

  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    return Synced(FSDirectoryWrapper::Fsync(options, dbg));
  }
  IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& dir_options) override {
    power_loss::ChangeGuard guard;
    return Synced(FSDirectoryWrapper::FsyncWithDirOptions(options, dbg, dir_options));
  }

 private:
  IOStatus Synced(IOStatus s) {
    if (s.ok()) power_loss::AfterDirSync(path_);
    return s;
  }
  const std::string path_;
};

class TrackedFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit TrackedFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target)
      : FileSystemWrapper(target) {}
  const char* Name() const override { return "OnceflowTrackedFileSystem"; }

  IOStatus NewWritableFile(const std::string& path, const FileOptions& options,
                           std::unique_ptr<FSWritableFile>* result, IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    const bool existed = Exists(path);
    if (existed && power_loss::Enabled()) {
      // Opened to be rewritten from the start (O_TRUNC): its old contents are what a loss
      // leaves until the new ones are synced.
      if (const int fd = OpenOwnFd(path); fd >= 0) {
        power_loss::BeforeTruncate(fd, 0);
        ::close(fd);
      }
    }
    IOStatus s = target()->NewWritableFile(path, options, result, dbg);
    return Wrapped(std::move(s), path, existed, result);
  }
  IOStatus ReopenWritableFile(const std::string& path, const FileOptions& options,
                              std::unique_ptr<FSWritableFile>* result,
                              IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    const bool existed = Exists(path);
    IOStatus s = target()->ReopenWritableFile(path, options, result, dbg);
    return Wrapped(std::move(s), path, existed, result);
  }
  IOStatus ReuseWritableFile(const std::string& path, const std::string& old_path,
                             const FileOptions& options, std::unique_ptr<FSWritableFile>* result,
                             IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    power_loss::BeforeRename(old_path, path);
    IOStatus s = target()->ReuseWritableFile(path, old_path, options, result, dbg);
    return Wrapped(std::move(s), path, /*existed=*/true, result);
  }
  IOStatus NewRandomRWFile(const std::string& path, const FileOptions& options,
                           std::unique_ptr<FSRandomRWFile>* result, IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    const bool existed = Exists(path);
    IOStatus s = target()->NewRandomRWFile(path, options, result, dbg);
    if (!s.ok()) return s;
    if (!existed) power_loss::AfterCreate(path);
    *result = std::make_unique<TrackedRandomRWFile>(std::move(*result), path);
    return s;
  }
  IOStatus NewDirectory(const std::string& path, const IOOptions& options,
                        std::unique_ptr<FSDirectory>* result, IODebugContext* dbg) override {
    IOStatus s = target()->NewDirectory(path, options, result, dbg);
    if (s.ok()) *result = std::make_unique<TrackedDirectory>(std::move(*result), path);
    return s;
  }
  IOStatus DeleteFile(const std::string& path, const IOOptions& options,
                      IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    power_loss::BeforeRemove(path);
    return target()->DeleteFile(path, options, dbg);
  }
  IOStatus RenameFile(const std::string& from, const std::string& to, const IOOptions& options,
                      IODebugContext* dbg) override {
    if (const int err = faults::HitIo("file_rename"); err != 0) {
      return Injected(err, "rename", from + " to " + to);
    }
    power_loss::ChangeGuard guard;
    power_loss::BeforeRename(from, to);
    return target()->RenameFile(from, to, options, dbg);
  }
  IOStatus LinkFile(const std::string& from, const std::string& to, const IOOptions& options,
                    IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    IOStatus s = target()->LinkFile(from, to, options, dbg);
    if (s.ok()) power_loss::AfterCreate(to);
    return s;
  }
  IOStatus Truncate(const std::string& path, size_t size, const IOOptions& options,
                    IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    if (power_loss::Enabled()) {
      if (const int fd = OpenOwnFd(path); fd >= 0) {
        power_loss::BeforeTruncate(fd, size);
        ::close(fd);
      }
    }
    return target()->Truncate(path, size, options, dbg);
  }
  IOStatus CreateDir(const std::string& path, const IOOptions& options,
                     IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    IOStatus s = target()->CreateDir(path, options, dbg);
    if (s.ok()) power_loss::AfterCreate(path);
    return s;
  }
  IOStatus CreateDirIfMissing(const std::string& path, const IOOptions& options,
                              IODebugContext* dbg) override {
    power_loss::ChangeGuard guard;
    const bool existed = Exists(path);
    IOStatus s = target()->CreateDirIfMissing(path, options, dbg);
    if (s.ok() && !existed) power_loss::AfterCreate(path);
    return s;
  }

 private:
  // REQUIRES: a ChangeGuard held since before the open.
  static IOStatus Wrapped(IOStatus s, const std::string& path, bool existed,
                          std::unique_ptr<FSWritableFile>* result) {
    if (!s.ok()) return s;
    if (!existed) power_loss::AfterCreate(path);
    *result = std::make_unique<TrackedWritableFile>(std::move(*result), path);
    return s;
  }
};

}  // namespace

rocksdb::Env* TrackedEnvIfWanted() {
  if (!power_loss::Enabled() && !faults::AnyArmed()) return nullptr;
  static rocksdb::Env* env = [] {
    auto fs = std::make_shared<TrackedFileSystem>(rocksdb::FileSystem::Default());
    return rocksdb::NewCompositeEnv(fs).release();
  }();
  return env;
}

}  // namespace onceflow::state
