// POSIX implementation of File and the directory helpers.
#include "util/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "util/fault_points.h"
#include "util/power_loss.h"

namespace onceflow {

Status ErrnoStatus(std::string_view what, std::string_view path, int err) {
  if (err == EROFS) {
    // Said first and as such: strerror's "Read-only file system" after the operation was easy
    // to misread, and a later step's "No such file or directory" hid it altogether.
    return Status::IoError("read-only file system: " + std::string(path) + " (" +
                           std::string(what) + ")");
  }
  if (err == ENOSPC || err == EDQUOT) {
    // Said first, as for a read-only file system: the operator's cue is the path. Retryable
    // (the default for I/O errors): space may be freed. IsDiskFull recognises it.
    return Status::IoError(std::string(kDiskFull) + std::string(path) + " (" + std::string(what) +
                           ": " + std::strerror(err) + ")");
  }
  std::string msg(what);
  msg += " ";
  msg += path;
  msg += ": ";
  msg += std::strerror(err);
  if (err == ENOENT) return Status::NotFound(std::move(msg));
  return Status::IoError(std::move(msg));
}

Result<File> File::Open(const std::string& path, Mode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case Mode::kReadOnly: flags |= O_RDONLY; break;
    case Mode::kReadWrite: flags |= O_RDWR; break;
    case Mode::kCreate: flags |= O_RDWR | O_CREAT; break;
  }
  power_loss::ChangeGuard guard;
  const bool created = mode == Mode::kCreate && power_loss::Enabled() && !PathExists(path);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return Err(ErrnoStatus("open", path, errno));
  if (created) power_loss::AfterCreate(path);
  return File(fd, path);
}

File::File(File&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

Result<size_t> File::ReadAt(uint64_t offset, size_t n, char* dst) const {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Err(ErrnoStatus("read", path_, errno));
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

Status File::WriteAt(uint64_t offset, std::string_view data) {
  iovec v{const_cast<char*>(data.data()), data.size()};
  return WriteAt(offset, std::span<const iovec>(&v, 1));
}

Status File::WriteAt(uint64_t offset, std::span<const iovec> buffers) {
  if (int err = faults::HitIo("file_write"); err != 0) return ErrnoStatus("write", path_, err);
  power_loss::ChangeGuard guard;
  if (power_loss::Enabled()) {
    uint64_t total = 0;
    for (const iovec& v : buffers) total += v.iov_len;
    power_loss::BeforeWrite(fd_, offset, total);
  }
  std::vector<iovec> rest(buffers.begin(), buffers.end());
  size_t first = 0;
  const size_t max_iov = static_cast<size_t>(sysconf(_SC_IOV_MAX));
  while (first < rest.size()) {
    int count = static_cast<int>(std::min(rest.size() - first, max_iov));
    ssize_t w = ::pwritev(fd_, rest.data() + first, count, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path_, errno);
    }
    offset += static_cast<uint64_t>(w);
    auto left = static_cast<size_t>(w);
    while (first < rest.size() && left >= rest[first].iov_len) {
      left -= rest[first].iov_len;
      ++first;
    }
    if (left > 0) {
      rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + left;
      rest[first].iov_len -= left;
    }
  }
  return Status::Ok();
}

Status File::Sync() {
  if (int err = faults::HitIo("file_sync"); err != 0) return ErrnoStatus("fdatasync", path_, err);
  power_loss::ChangeGuard guard;
  if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
  power_loss::AfterSync(fd_);
  return Status::Ok();
}

Status File::Truncate(uint64_t size) {
  power_loss::ChangeGuard guard;
  power_loss::BeforeTruncate(fd_, size);
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    return ErrnoStatus("truncate", path_, errno);
  }
  return Status::Ok();
}

Result<uint64_t> File::Size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return Err(ErrnoStatus("stat", path_, errno));
  return static_cast<uint64_t>(st.st_size);
}

void File::AdviseSequential() const {
  (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);  // a hint: failure changes nothing
}

bool IsDiskFull(const Status& s) {
  return !s.ok() && s.message().find(kDiskFull) != std::string::npos;
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Status CreateDirs(const std::string& path) {
  // The levels that do not exist yet, outermost first.
  std::vector<std::string> created;
  std::filesystem::path normal = std::filesystem::path(path).lexically_normal();
  if (!normal.has_filename()) normal = normal.parent_path();  // "a/b/": "a/b"
  for (std::filesystem::path p = normal; !p.empty() && !PathExists(p.string());
       p = p.parent_path()) {
    created.insert(created.begin(), p.string());
    if (p == p.parent_path()) break;
  }
  {
    power_loss::ChangeGuard guard;
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return ErrnoStatus("create directory", path, ec.value());
    for (const std::string& dir : created) power_loss::AfterCreate(dir);
  }
  // Each new level is durable in its parent before this returns: a file later synced in the
  // deepest one must not vanish with a directory whose entry a power loss forgot.
  for (const std::string& dir : created) {
    ONCEFLOW_RETURN_IF_ERROR(SyncDir(DirName(dir)));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return Err(ErrnoStatus("list directory", path, errno));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view name(e->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Status RemoveFile(const std::string& path) {
  power_loss::ChangeGuard guard;
  power_loss::BeforeRemove(path);
  if (::unlink(path.c_str()) != 0) return ErrnoStatus("remove", path, errno);
  return Status::Ok();
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::IoError("remove " + path + ": " + ec.message());
  return Status::Ok();
}

Status RenameFile(const std::string& from, const std::string& to) {
  if (int err = faults::HitIo("file_rename"); err != 0) {
    return ErrnoStatus("rename " + from + " to", to, err);
  }
  power_loss::ChangeGuard guard;
  power_loss::BeforeRename(from, to);
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoStatus("rename " + from + " to", to, errno);
  }
  return Status::Ok();
}

Status SyncDir(const std::string& path) {
  if (int err = faults::HitIo("file_sync"); err != 0) {
    return ErrnoStatus("fsync directory", path, err);
  }
  power_loss::ChangeGuard guard;
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync directory", path, err);
  power_loss::AfterDirSync(path);
  return Status::Ok();
}

Result<std::string> ReadFileToString(const std::string& path) {
  ONCEFLOW_ASSIGN_OR_RETURN(File f, File::Open(path, File::Mode::kReadOnly));
  ONCEFLOW_ASSIGN_OR_RETURN(uint64_t size, f.Size());
  std::string out(size, '\0');
  ONCEFLOW_ASSIGN_OR_RETURN(size_t n, f.ReadAt(0, size, out.data()));
  out.resize(n);
  return out;
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  std::string tmp = path + ".tmp";
  Status s = [&]() -> Status {
    ONCEFLOW_ASSIGN_OR_RETURN(File f, File::Open(tmp, File::Mode::kCreate));
    ONCEFLOW_RETURN_IF_ERROR(f.Truncate(0));
    ONCEFLOW_RETURN_IF_ERROR(f.WriteAt(0, contents));
    return f.Sync();
  }();
  if (s.ok()) s = RenameFile(tmp, path);
  if (!s.ok()) {
    // No half-written temporary file is left behind (epoch.tmp after a full disk).
    if (PathExists(tmp)) RemoveFile(tmp).IgnoreError();
    return s;
  }
  return SyncDir(DirName(path));
}

Result<uint64_t> DiskUsage(const std::string& path) {
  std::error_code ec;
  uint64_t total = 0;
  auto add = [&](const std::filesystem::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
  };
  add(path);
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    add(it->path());
  }
  if (ec) return Err(Status::IoError("disk usage of " + path + ": " + ec.message()));
  return total;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!out.empty() && out.back() != '/') out += '/';
  out += b;
  return out;
}

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

}  // namespace onceflow
