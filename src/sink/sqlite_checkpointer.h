// SqliteCheckpointer: copies the SQLite sink's write-ahead log into the database file on a
// thread of its own, so that a commit does not wait for it.
//
// With SQLite's default automatic checkpoint, the connection that commits a transaction which
// takes the WAL past 1000 pages checkpoints right after its COMMIT: it copies every page of the
// WAL into the database file and syncs it before the commit call returns. For a sink that commits
// large batches this doubles the commit's disk writes on the batch's critical path (0.7 s of a
// 1 M-row upsert). The sink turns the automatic checkpoint off and wakes this thread after each
// commit instead; it runs a PASSIVE checkpoint on its own connection while the pipeline goes on.
// Durability is unchanged: a commit is durable once its frames are synced in the WAL
// (synchronous=FULL), and a checkpoint, interrupted or not, never loses a committed frame.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "onceflow/status.h"

namespace onceflow::sink {

class SqliteDb;

// Lifecycle: Start() opens the second connection and the thread; the destructor stops the
// thread after the checkpoint in progress, if any (none is started at close: the WAL stays for
// the next open, which is as safe and does not make a stop wait).
// Thread-safety: Wake() and checkpoints() may be called from any thread.
class SqliteCheckpointer {
 public:
  static Result<std::unique_ptr<SqliteCheckpointer>> Start(const std::string& path,
                                                           int busy_timeout_ms);
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  // A commit added frames to the WAL: checkpoint them soon. Wakes that come while a checkpoint
  // runs are merged into one more checkpoint after it.
  void Wake();

  // Complete checkpoints (every frame of the WAL copied, so the next commit restarts the WAL),
  // for tests and stats. A failed or partial one (the disk, or a reader that holds old frames) is
  // not counted; the next wake tries again, and the WAL only grows meanwhile.
  int64_t checkpoints() const;

  // The first failure of a run of failed checkpoints (a failed fsync of the database file, say),
  // once: "" if none is new. The WAL keeps every committed frame meanwhile, and a checkpoint
  // that fails leaves the WAL authoritative (nothing is lost); the next wake tries again. The
  // sink reports it so that an EIO is never swallowed silently.
  std::string TakeFailure();

  // Complete checkpoints of every checkpointer in this process so far. A test waits on it for
  // the effect of the background thread instead of sleeping.
  static int64_t CompletedInProcess();

 private:
  explicit SqliteCheckpointer(std::unique_ptr<SqliteDb> db);
  void Loop();

  std::unique_ptr<SqliteDb> db_;  // used by the thread only
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  int64_t checkpoints_ = 0;
  bool failing_ = false;  // the last checkpoint failed
  std::string failure_;   // not yet taken
  std::thread thread_;    // last: started once everything above is set
};

}  // namespace onceflow::sink
