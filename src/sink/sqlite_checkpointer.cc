// The SQLite sink's background checkpoint.
#include "sink/sqlite_checkpointer.h"

#include <sqlite3.h>

#include <atomic>
#include <utility>

#include "sink/sqlite_db.h"

namespace onceflow::sink {
namespace {
std::atomic<int64_t> completed_in_process{0};
}  // namespace

Result<std::unique_ptr<SqliteCheckpointer>> SqliteCheckpointer::Start(const std::string& path,
                                                                      int busy_timeout_ms) {
  ONCEFLOW_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, busy_timeout_ms));
  return std::unique_ptr<SqliteCheckpointer>(new SqliteCheckpointer(std::move(db)));
}

SqliteCheckpointer::SqliteCheckpointer(std::unique_ptr<SqliteDb> db)
    : db_(std::move(db)), thread_([this] { Loop(); }) {}

SqliteCheckpointer::~SqliteCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void SqliteCheckpointer::Wake() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

int64_t SqliteCheckpointer::CompletedInProcess() {
  return completed_in_process.load(std::memory_order_acquire);
}

int64_t SqliteCheckpointer::checkpoints() const {
  std::lock_guard lock(mu_);
  return checkpoints_;
}

std::string SqliteCheckpointer::TakeFailure() {
  std::lock_guard lock(mu_);
  return std::exchange(failure_, std::string());
}

void SqliteCheckpointer::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return pending_ || stop_; });
    if (stop_) return;
    pending_ = false;
    lock.unlock();
    // PASSIVE: copies what no reader still needs, never waits for the writer nor blocks it.
    int wal_frames = 0;
    int copied_frames = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE,
                                             &wal_frames, &copied_frames);
    lock.lock();
    if (rc == SQLITE_OK && copied_frames == wal_frames) {
      ++checkpoints_;
      completed_in_process.fetch_add(1, std::memory_order_release);
    }
    if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      failing_ = false;
    } else if (!failing_) {
      failing_ = true;
      failure_ = sqlite3_errmsg(db_->handle());
      if (failure_.empty()) failure_ = sqlite3_errstr(rc);
    }
  }
}

}  // namespace onceflow::sink
