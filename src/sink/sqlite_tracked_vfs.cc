// The SQLite VFS shim that reports file changes to the power-loss tracker.
#include "sink/sqlite_tracked_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <utility>

#include "util/fault_points.h"
#include "util/power_loss.h"

namespace onceflow::sink {
namespace {

constexpr const char* kVfsName = "onceflow-tracked";

std::atomic<bool> g_installed{false};

// The wrapped VFS (the unix VFS, SQLite's default before the shim).
sqlite3_vfs* Real(sqlite3_vfs* shim) { return static_cast<sqlite3_vfs*>(shim->pAppData); }

// The shim's descriptors, one per file (inode) however many connections have it open, closed
// when the last of them closes it: closing a descriptor drops every POSIX advisory lock the
// process holds on the file, and SQLite's other connections still hold theirs.
using InodeKey = std::pair<dev_t, ino_t>;
struct SharedFd {
  int fd = -1;
  int users = 0;
};
std::mutex g_fds_mu;
std::map<InodeKey, SharedFd>& Fds() {
  static auto* fds = new std::map<InodeKey, SharedFd>();
  return *fds;
}

// A descriptor of the file at `path` (-1 if it cannot be opened), and its key.
int AcquireFd(const char* path, InodeKey* key) {
  struct stat st {};
  if (::stat(path, &st) != 0) return -1;
  *key = {st.st_dev, st.st_ino};
  std::lock_guard lock(g_fds_mu);
  SharedFd& shared = Fds()[*key];
  if (shared.users == 0) shared.fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (shared.fd < 0) {
    Fds().erase(*key);
    return -1;
  }
  ++shared.users;
  return shared.fd;
}

void ReleaseFd(const InodeKey& key) {
  std::lock_guard lock(g_fds_mu);
  auto it = Fds().find(key);
  if (it == Fds().end() || --it->second.users > 0) return;
  ::close(it->second.fd);
  Fds().erase(it);
}

// One open file: the shim's part, followed in the same allocation by the wrapped VFS's file.
struct TrackedFile {
  sqlite3_file base;   // pMethods: the shim's methods (or null if the wrapped open failed)
  sqlite3_file* real;  // the wrapped VFS's file, right after this struct
  int fd;              // the shim's descriptor of the file (AcquireFd); -1: not tracked
  InodeKey inode;      // its key, to release it
  bool dir_sync_due;   // a journal or WAL opened to create: its first xSync syncs the directory
  std::string dir;     // the file's directory
};

constexpr size_t kShimBytes = (sizeof(TrackedFile) + 15) & ~size_t{15};

TrackedFile* Of(sqlite3_file* f) { return reinterpret_cast<TrackedFile*>(f); }
sqlite3_file* RealOf(sqlite3_file* f) { return Of(f)->real; }

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// ---- io methods: the changing ones report, the others forward. ----

int Close(sqlite3_file* f) {
  TrackedFile* t = Of(f);
  int rc = SQLITE_OK;
  if (t->real->pMethods != nullptr) rc = t->real->pMethods->xClose(t->real);
  if (t->fd >= 0) ReleaseFd(t->inode);
  t->~TrackedFile();
  return rc;
}

int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return RealOf(f)->pMethods->xRead(RealOf(f), buf, n, off);
}

int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (const int err = faults::HitIo("file_write"); err != 0) {
    return err == ENOSPC ? SQLITE_FULL : SQLITE_IOERR_WRITE;
  }
  TrackedFile* t = Of(f);
  power_loss::ChangeGuard guard;
  if (t->fd >= 0) {
    power_loss::BeforeWrite(t->fd, static_cast<uint64_t>(off), static_cast<uint64_t>(n));
  }
  return t->real->pMethods->xWrite(t->real, buf, n, off);
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  TrackedFile* t = Of(f);
  power_loss::ChangeGuard guard;
  if (t->fd >= 0) power_loss::BeforeTruncate(t->fd, static_cast<uint64_t>(size));
  return t->real->pMethods->xTruncate(t->real, size);
}

int Sync(sqlite3_file* f, int flags) {
  if (const int err = faults::HitIo("file_sync"); err != 0) {
    return err == ENOSPC ? SQLITE_FULL : SQLITE_IOERR_FSYNC;
  }
  TrackedFile* t = Of(f);
  power_loss::ChangeGuard guard;
  const int rc = t->real->pMethods->xSync(t->real, flags);
  if (rc == SQLITE_OK && t->fd >= 0) {
    power_loss::AfterSync(t->fd);
    if (t->dir_sync_due) power_loss::AfterDirSync(t->dir);
  }
  if (rc == SQLITE_OK) t->dir_sync_due = false;
  return rc;
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return RealOf(f)->pMethods->xFileSize(RealOf(f), size);
}
int Lock(sqlite3_file* f, int level) { return RealOf(f)->pMethods->xLock(RealOf(f), level); }
int Unlock(sqlite3_file* f, int level) { return RealOf(f)->pMethods->xUnlock(RealOf(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return RealOf(f)->pMethods->xCheckReservedLock(RealOf(f), out);
}

int FileControl(sqlite3_file* f, int op, void* arg) {
  TrackedFile* t = Of(f);
  if (op == SQLITE_FCNTL_SIZE_HINT) {
    // The unix VFS may grow the file here (with a chunk size): its size before is what a power
    // loss leaves.
    power_loss::ChangeGuard guard;
    if (t->fd >= 0) {
      power_loss::BeforeTruncate(t->fd, static_cast<uint64_t>(*static_cast<sqlite3_int64*>(arg)));
    }
    return t->real->pMethods->xFileControl(t->real, op, arg);
  }
  return t->real->pMethods->xFileControl(t->real, op, arg);
}

int SectorSize(sqlite3_file* f) { return RealOf(f)->pMethods->xSectorSize(RealOf(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return RealOf(f)->pMethods->xDeviceCharacteristics(RealOf(f));
}

// The WAL index: shared memory, rebuilt from the WAL by the first connection after a restart.
int ShmMap(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  return RealOf(f)->pMethods->xShmMap(RealOf(f), page, page_size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return RealOf(f)->pMethods->xShmLock(RealOf(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { RealOf(f)->pMethods->xShmBarrier(RealOf(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return RealOf(f)->pMethods->xShmUnmap(RealOf(f), delete_flag);
}
// Memory-mapped reads (SQLite writes through xWrite even when it maps the file).
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return RealOf(f)->pMethods->xFetch(RealOf(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return RealOf(f)->pMethods->xUnfetch(RealOf(f), off, p);
}

const sqlite3_io_methods kMethods = {
    .iVersion = 3,
    .xClose = Close,
    .xRead = Read,
    .xWrite = Write,
    .xTruncate = Truncate,
    .xSync = Sync,
    .xFileSize = FileSize,
    .xLock = Lock,
    .xUnlock = Unlock,
    .xCheckReservedLock = CheckReservedLock,
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
    .xShmMap = ShmMap,
    .xShmLock = ShmLock,
    .xShmBarrier = ShmBarrier,
    .xShmUnmap = ShmUnmap,
    .xFetch = Fetch,
    .xUnfetch = Unfetch,
};

// ---- the VFS: xOpen and xDelete report, the rest forwards to the wrapped VFS. ----

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* t = new (f) TrackedFile{};
  t->base.pMethods = nullptr;
  t->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kShimBytes);
  t->fd = -1;
  const bool tracked = name != nullptr && (flags & SQLITE_OPEN_DELETEONCLOSE) == 0;
  const bool journal =
      (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL)) != 0;
  power_loss::ChangeGuard guard;
  const bool created = tracked && (flags & SQLITE_OPEN_CREATE) != 0 && power_loss::Enabled() &&
                       ::access(name, F_OK) != 0;
  sqlite3_vfs* real = Real(vfs);
  const int rc = real->xOpen(real, name, t->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed open.
  if (t->real->pMethods != nullptr) t->base.pMethods = &kMethods;
  if (rc != SQLITE_OK) {
    if (t->real->pMethods == nullptr) t->~TrackedFile();
    return rc;
  }
  if (tracked) {
    if (created) power_loss::AfterCreate(name);
    t->fd = AcquireFd(name, &t->inode);
    t->dir = DirOf(name);
    // The unix VFS sets UNIXFILE_DIRSYNC on exactly these opens.
    t->dir_sync_due = journal && (flags & SQLITE_OPEN_CREATE) != 0;
  }
  return rc;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  power_loss::ChangeGuard guard;
  power_loss::BeforeRemove(name);
  sqlite3_vfs* real = Real(vfs);
  const int rc = real->xDelete(real, name, sync_dir);
  if (rc == SQLITE_OK && (sync_dir & 1) != 0) power_loss::AfterDirSync(DirOf(name));
  return rc;
}

int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Real(vfs)->xAccess(Real(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Real(vfs)->xFullPathname(Real(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return Real(vfs)->xDlOpen(Real(vfs), name); }
void DlError(sqlite3_vfs* vfs, int n, char* out) { Real(vfs)->xDlError(Real(vfs), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* lib, const char* sym))(void) {
  return Real(vfs)->xDlSym(Real(vfs), lib, sym);
}
void DlClose(sqlite3_vfs* vfs, void* lib) { Real(vfs)->xDlClose(Real(vfs), lib); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Real(vfs)->xRandomness(Real(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int us) { return Real(vfs)->xSleep(Real(vfs), us); }
int CurrentTime(sqlite3_vfs* vfs, double* out) { return Real(vfs)->xCurrentTime(Real(vfs), out); }
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Real(vfs)->xGetLastError(Real(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Real(vfs)->xCurrentTimeInt64(Real(vfs), out);
}
int SetSystemCall(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr p) {
  return Real(vfs)->xSetSystemCall(Real(vfs), name, p);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Real(vfs)->xGetSystemCall(Real(vfs), name);
}
const char* NextSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Real(vfs)->xNextSystemCall(Real(vfs), name);
}

void Register() {
  sqlite3_initialize();
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr || std::strcmp(real->zName, kVfsName) == 0) return;
  static sqlite3_vfs vfs{};
  vfs.iVersion = 3;
  vfs.szOsFile = static_cast<int>(kShimBytes) + real->szOsFile;
  vfs.mxPathname = real->mxPathname;
  vfs.zName = kVfsName;
  vfs.pAppData = real;
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  vfs.xSetSystemCall = SetSystemCall;
  vfs.xGetSystemCall = GetSystemCall;
  vfs.xNextSystemCall = NextSystemCall;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/1) == SQLITE_OK) g_installed = true;
}

}  // namespace

void InstallTrackedVfsIfWanted() {
  if (!power_loss::Enabled() && !faults::AnyArmed()) return;
  static std::once_flag once;
  std::call_once(once, Register);
}

bool TrackedVfsInstalled() { return g_installed.load(); }

}  // namespace onceflow::sink
