// StateStore: a pipeline's keyed state on RocksDB, one database under its checkpoint directory
// (`<data>/pipelines/<name>/state/`), versioned by batch: the state of batch N is the state
// after N's deltas were applied, and every state task carries a marker `state_batch = N`.
// Key layout: state_format.h and docs/formats/state.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "onceflow/ids.h"
#include "onceflow/status.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace onceflow::state {

class StateCache;

// One state task's changes in one batch: full store keys (state_format.h) to their new value,
// nullopt for a delete; in key order, each key once (TaskState::TakeDelta sorts them).
struct StateDelta {
  using Write = std::pair<std::string, std::optional<std::string>>;
  int32_t task = 0;
  std::vector<Write> writes;
};

// The number of writes of all `deltas`.
size_t WriteCount(std::span<const StateDelta> deltas);

// A batch's commit built ahead of its write (StateStore::Prepare): its deltas, every task's
// marker and the max event time as a RocksDB WriteBatch, or as an SST file to ingest (a large
// commit). Move-only; applied by StateStore::Commit.
class PreparedCommit {
 public:
  PreparedCommit();
  ~PreparedCommit();
  PreparedCommit(PreparedCommit&&) noexcept;
  PreparedCommit& operator=(PreparedCommit&&) noexcept;

 private:
  friend class StateStore;
  BatchId batch_{-1};
  std::optional<int64_t> max_event_time_;
  std::optional<std::string> event_times_;
  std::unique_ptr<rocksdb::WriteBatch> write_;  // a small commit
  std::string file_;  // a large commit: its SST file (state_commit_file.h), removed unless ingested
};

// Runs fn(0) .. fn(n - 1), possibly in parallel, and returns when all have returned.
using ForEachFn = std::function<void(size_t n, const std::function<void(size_t)>& fn)>;

// Lifecycle: Open, then reads and one Commit per batch, in batch order.
// Thread-safety: Get and Scan may run concurrently from task threads; Commit runs alone
// (the driver does not compute a stateful batch while the previous one commits), so reads
// during a batch see exactly the state as of the previous batch.
// Durability: Commit returns after the WAL is synced; the deltas of every task and every
// task's marker are in one WriteBatch, so the store is always wholly at one batch.
// Caching: point reads of data keys go through a write-through StateCache (state_cache.h) of
// committed values: filled from RocksDB reads and by each Commit with the values it writes
// (a large commit fills it while RocksDB writes, since nothing reads during a commit); cleared
// whole when a Commit fails. No read ever sees an uncommitted delta, so a batch retried after
// a failed commit reads the state of the previous batch, as without it.
class StateStore {
 public:
  // The default byte budget of the cache of committed values.
  static constexpr size_t kDefaultCacheBytes = size_t{256} << 20;

  // Opens or creates the store at `dir` with `tasks` state tasks (keys are partitioned by
  // task: a key's task must never change, so a store is refused if it was created with another
  // number of tasks). A store of a newer format is refused. cache_bytes: the budget of the
  // cache of committed values (0: no cache, every read goes to RocksDB).
  static Result<std::unique_ptr<StateStore>> Open(const std::string& dir, int32_t tasks,
                                                  size_t cache_bytes = kDefaultCacheBytes);
  ~StateStore();

  // The last batch whose state was committed (-1: none yet).
  BatchId batch() const { return batch_; }
  int32_t tasks() const { return tasks_; }
  // The greatest event time seen by the committed batches (nullopt: none yet): the watermark's
  // input, committed with the state so that a re-run batch sees the same watermark.
  std::optional<int64_t> max_event_time() const { return max_event_time_; }
  // The event-time progress per input partition (the engine's encoding, operators/watermark.h),
  // committed with the state; nullopt if none was ever committed (a store of an older onceflow
  // has only max_event_time).
  const std::optional<std::string>& event_times() const { return event_times_; }
  const std::string& dir() const { return dir_; }

  // The committed value of a full store key (nullopt if absent). Data keys are served from
  // the cache when it holds them.
  Result<std::optional<std::string>> Get(std::string_view key) const;
  // Calls fn for every committed key in [begin, end), in key order, until fn returns false.
  Status Scan(std::string_view begin, std::string_view end,
              const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  // Applies the deltas of batch `batch` with every task's marker set to `batch`, and the new
  // max event time, in one WriteBatch written with WAL sync (task by task, each task's writes
  // in key order: RocksDB's memtable inserts sorted keys faster). The written data keys go
  // into the cache, one delta per call of fn given to for_each (default: one after the other),
  // beside the write when it is large, after it otherwise. On success the deltas are left
  // empty; on failure they are left as they were and the cache is cleared. Fault point:
  // mid_state_commit (before the write).
  // REQUIRES: batch > this->batch(). (Nothing happens between the sink commit and this write:
  // the fault point after_sink_commit is the crash before it.)
  Status Commit(BatchId batch, std::span<StateDelta> deltas, std::optional<int64_t> max_event_time,
                const ForEachFn& for_each = nullptr);
  // The same in two steps. Prepare builds the write from the deltas and the number of tasks
  // alone, touching neither RocksDB's data nor the cache, so it may run on another thread
  // while the sink commits; Commit(prepared, ...) then writes and fills the cache. `deltas`
  // must be the ones prepared. From ingest_min_writes() writes on, the write is an SST file
  // in <dir>.ingest that Commit ingests (a link and a synced manifest record: atomic, and none
  // of the memtable and WAL work left after the sink commit); below, a WriteBatch. A file that
  // cannot be written falls back to a WriteBatch; a file left by a crash is removed at Open.
  // `event_times`, if set, replaces event_times() in the same write.
  PreparedCommit Prepare(BatchId batch, std::span<const StateDelta> deltas,
                         std::optional<int64_t> max_event_time,
                         std::optional<std::string> event_times = std::nullopt) const;
  Status Commit(PreparedCommit prepared, std::span<StateDelta> deltas,
                const ForEachFn& for_each = nullptr);

  // Approximate number of keys and bytes on disk, for stats and benchmarks.
  uint64_t ApproximateKeys() const;

  // From how many writes a commit is an ingested file: kIngestMinWrites, unless the
  // environment sets ONCEFLOW_STATE_INGEST_MIN_WRITES (for tests, which run the whole state
  // suite a second time with 1, so that every commit takes the file path).
  static constexpr size_t kIngestMinWrites = 100000;
  size_t ingest_min_writes() const { return ingest_min_writes_; }
  // Commits written as ingested files so far, for tests.
  int64_t ingested_commits() const { return ingested_commits_; }
  // From how many writes building a commit's write (Prepare) or filling the cache (Commit) on a
  // thread of its own, beside other work, gains more than starting the thread costs.
  static constexpr size_t kOverlapMinWrites = 10000;

  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

 private:
  StateStore(std::string dir, std::unique_ptr<rocksdb::DB> db, size_t cache_bytes);
  Status Load(int32_t tasks);

  std::string dir_;
  std::string ingest_dir_;  // dir_ + ".ingest": commit files between Prepare and Commit
  size_t ingest_min_writes_ = kIngestMinWrites;
  int64_t ingested_commits_ = 0;
  mutable std::atomic<uint64_t> next_file_{0};
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<StateCache> cache_;  // committed values only (see the class comment)
  int32_t tasks_ = 0;
  BatchId batch_{-1};
  std::optional<int64_t> max_event_time_;
  std::optional<std::string> event_times_;
  int format_ = 0;  // the format version on disk (Xformat)
};

// The directory of the state store inside a pipeline's checkpoint directory.
std::string StateDir(const std::string& checkpoint_dir);

}  // namespace onceflow::state
