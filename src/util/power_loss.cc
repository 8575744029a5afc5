// The unsynced-change tracker behind simulated power loss.
#include "util/power_loss.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace onceflow::power_loss {
namespace {

std::atomic<bool> g_enabled{false};

std::shared_mutex& ChangeMutex() {
  static auto* mu = new std::shared_mutex();
  return *mu;
}

// One file's unsynced writes: its size before the first of them, and the old bytes of every
// region they overwrote, oldest first. `fd` keeps the inode open (read-write) so that it can be
// restored whatever its name is by then.
struct Journal {
  int fd = -1;
  uint64_t size_before = 0;
  std::vector<std::pair<uint64_t, std::string>> old;
};

enum class OpKind { kCreate, kRename, kRemove };

// A directory change not yet made durable by an fsync of its directories (`dirs`).
struct DirOp {
  OpKind kind;
  std::string path;  // created or removed; the rename's source
  std::string to;    // the rename's target
  // kRemove: the removed file's durable contents; kRename: those of the file `to` replaced.
  std::optional<std::string> contents;
  std::set<std::string> dirs;
};

struct Tracker {
  std::mutex mu;
  std::map<std::pair<dev_t, ino_t>, Journal> journals;
  std::vector<DirOp> ops;
};

Tracker& T() {
  static auto* t = new Tracker();
  return *t;
}

std::string Normal(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) p = path;
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string Parent(const std::string& normal) {
  const size_t slash = normal.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return normal.substr(0, slash);
}

bool PreadAll(int fd, uint64_t offset, size_t n, std::string* out) {
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    done += static_cast<size_t>(r);
  }
  out->resize(done);
  return done == n;
}

void PwriteAll(int fd, uint64_t offset, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    done += static_cast<size_t>(w);
  }
}

// The journal of the file open as `fd`, started if it has none. REQUIRES: T().mu held.
Journal* JournalOf(int fd, uint64_t* size_now) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
  *size_now = static_cast<uint64_t>(st.st_size);
  auto [it, fresh] = T().journals.try_emplace({st.st_dev, st.st_ino});
  if (fresh) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    it->second.fd = ::open(self.c_str(), O_RDWR | O_CLOEXEC);
    it->second.size_before = *size_now;
  }
  return &it->second;
}

// The contents a power loss would leave in the file at `path`: what is there now, with its
// unsynced writes undone. REQUIRES: T().mu held.
std::optional<std::string> DurableContents(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<std::string> out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    std::string data;
    PreadAll(fd, 0, static_cast<size_t>(st.st_size), &data);
    if (auto it = T().journals.find({st.st_dev, st.st_ino}); it != T().journals.end()) {
      const Journal& j = it->second;
      for (auto e = j.old.rbegin(); e != j.old.rend(); ++e) {
        if (data.size() < e->first + e->second.size()) data.resize(e->first + e->second.size());
        data.replace(e->first, e->second.size(), e->second);
      }
      data.resize(j.size_before);
    }
    out = std::move(data);
  }
  ::close(fd);
  return out;
}

void WriteWhole(const std::string& path, const std::string& contents) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  PwriteAll(fd, 0, contents);
  ::close(fd);
}

// REQUIRES: the change lock held exclusively.
void ForgetLocked() {
  std::lock_guard lock(T().mu);
  for (auto& [key, j] : T().journals) {
    if (j.fd < 0) continue;
    for (auto e = j.old.rbegin(); e != j.old.rend(); ++e) PwriteAll(j.fd, e->first, e->second);
    (void)!::ftruncate(j.fd, static_cast<off_t>(j.size_before));
    ::close(j.fd);
  }
  T().journals.clear();
  for (auto it = T().ops.rbegin(); it != T().ops.rend(); ++it) {
    const DirOp& op = *it;
    const std::optional<std::string>& contents = op.contents;
    std::error_code ec;
    switch (op.kind) {
      case OpKind::kCreate: std::filesystem::remove_all(op.path, ec); break;
      case OpKind::kRename:
        std::filesystem::rename(op.to, op.path, ec);
        if (contents.has_value()) WriteWhole(op.to, contents.value());
        break;
      case OpKind::kRemove:
        if (contents.has_value()) WriteWhole(op.path, contents.value());
        break;
    }
  }
  T().ops.clear();
}

}  // namespace

bool Enabled() { return g_enabled.load(std::memory_order_relaxed); }

void Enable() { g_enabled.store(true, std::memory_order_relaxed); }

ChangeGuard::ChangeGuard() {
  if (Enabled()) lock_ = std::shared_lock(ChangeMutex());
}

ChangeGuard::~ChangeGuard() = default;

void BeforeWrite(int fd, uint64_t offset, uint64_t length) {
  if (!Enabled() || length == 0) return;
  std::lock_guard lock(T().mu);
  uint64_t size = 0;
  Journal* j = JournalOf(fd, &size);
  if (j == nullptr || offset >= size || j->fd < 0) return;
  std::string old;
  PreadAll(j->fd, offset, static_cast<size_t>(std::min(length, size - offset)), &old);
  j->old.emplace_back(offset, std::move(old));
}

void BeforeTruncate(int fd, uint64_t new_size) {
  if (!Enabled()) return;
  std::lock_guard lock(T().mu);
  uint64_t size = 0;
  Journal* j = JournalOf(fd, &size);
  if (j == nullptr || new_size >= size || j->fd < 0) return;
  std::string old;
  PreadAll(j->fd, new_size, static_cast<size_t>(size - new_size), &old);
  j->old.emplace_back(new_size, std::move(old));
}

void AfterSync(int fd) {
  if (!Enabled()) return;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  std::lock_guard lock(T().mu);
  auto it = T().journals.find({st.st_dev, st.st_ino});
  if (it == T().journals.end()) return;
  if (it->second.fd >= 0) ::close(it->second.fd);
  T().journals.erase(it);
}

void AfterCreate(const std::string& path) {
  if (!Enabled()) return;
  const std::string p = Normal(path);
  std::lock_guard lock(T().mu);
  T().ops.push_back(DirOp{OpKind::kCreate, p, {}, std::nullopt, {Parent(p)}});
}

void BeforeRename(const std::string& from, const std::string& to) {
  if (!Enabled()) return;
  const std::string f = Normal(from);
  const std::string t = Normal(to);
  std::lock_guard lock(T().mu);
  T().ops.push_back(DirOp{OpKind::kRename, f, t, DurableContents(t), {Parent(f), Parent(t)}});
}

void BeforeRemove(const std::string& path) {
  if (!Enabled()) return;
  const std::string p = Normal(path);
  std::lock_guard lock(T().mu);
  T().ops.push_back(DirOp{OpKind::kRemove, p, {}, DurableContents(p), {Parent(p)}});
}

void AfterDirSync(const std::string& dir) {
  if (!Enabled()) return;
  const std::string d = Normal(dir);
  std::lock_guard lock(T().mu);
  auto& ops = T().ops;
  for (auto& op : ops) op.dirs.erase(d);
  std::erase_if(ops, [](const DirOp& op) { return op.dirs.empty(); });
}

Status Forget() {
  std::unique_lock lock(ChangeMutex());
  ForgetLocked();
  return Status::Ok();
}

void LoseAndExit(std::string_view where) {
  const std::string msg = "onceflow: power loss at " + std::string(where) + "\n";
  (void)!::write(2, msg.data(), msg.size());
  // Taken and never released: no thread changes a file from here on.
  ChangeMutex().lock();
  if (Enabled()) ForgetLocked();
  // exit_group: every thread ends at once, nothing is flushed or finalised (as in faults' crash).
  ::syscall(SYS_exit_group, kExitCode);
  ::_exit(kExitCode);
}

size_t PendingChanges() {
  std::lock_guard lock(T().mu);
  return T().journals.size() + T().ops.size();
}

}  // namespace onceflow::power_loss
