// The RocksDB-backed state store.
#include "state/state_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <vector>

#include "state/state_cache.h"
#include "state/state_commit_file.h"
#include "state/state_format.h"
#include "state/tracked_file_system.h"
#include "util/coding.h"
#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow::state {
namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsBusy() || s.IsTryAgain()) return Status::Busy(what + ": " + s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument(what + ": " + s.ToString());
  return Status::IoError(what + ": " + s.ToString());
}

std::string Fixed64(uint64_t v) {
  std::string s;
  coding::PutFixed64(&s, v);
  return s;
}

// Only data keys are cached: they are the ones read point by point (timers are scanned,
// markers and metadata read once at open).
bool Cached(std::string_view key) { return !key.empty() && key[0] == kDataKind; }

// RocksDB counts key comparisons per thread by default; at a memtable insert or lookup per
// state key, the counting (a thread-local access from a shared library) is a visible cost.
void NoPerfCounting() { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }

}  // namespace

std::string StateDir(const std::string& checkpoint_dir) { return checkpoint_dir + "/state"; }

size_t WriteCount(std::span<const StateDelta> deltas) {
  size_t n = 0;
  for (const StateDelta& d : deltas) n += d.writes.size();
  return n;
}

StateStore::StateStore(std::string dir, std::unique_ptr<rocksdb::DB> db, size_t cache_bytes)
    : dir_(std::move(dir)),
      ingest_dir_(dir_ + ".ingest"),
      db_(std::move(db)),
      cache_(std::make_unique<StateCache>(cache_bytes)) {}

StateStore::~StateStore() {
  if (db_) db_->Close().PermitUncheckedError();  // a close error loses nothing: the WAL is synced
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir, int32_t tasks,
                                                     size_t cache_bytes) {
  if (tasks < 1) return Err(Status::InvalidArgument("state store: tasks must be at least 1"));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  options.max_open_files = 256;
  options.write_buffer_size = 64 << 20;
  // Closing does not flush the memtables: every commit is in the synced WAL, which the next
  // open replays (a flush of a large memtable made every stop of a pipeline a second longer).
  options.avoid_flush_during_shutdown = true;
  // A commit's keys arrive in key order, grouped by (operator, task): the memtable inserts each
  // one from where the previous key of its prefix went instead of searching from the top. Into a
  // memtable that already holds the previous batch's 1 M keys this halves the write (3.0 s ->
  // 1.5 s for 1 M keys in a scratch measurement). RocksDB uses the hint only for one writer at a
  // time, which a store is (one commit at a time).
  options.allow_concurrent_memtable_write = false;
  options.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(kDataPrefixBytes));
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(64 << 20);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Crash tests only (a power loss or a fault point armed): RocksDB's files through the tracker;
  // the commit files too, written with these options (state_commit_file.h).
  if (rocksdb::Env* tracked = TrackedEnvIfWanted()) options.env = tracked;
  // RocksDB syncs its directory after creating files in it, but never the directory above it:
  // a power loss could take a new store's directory, and with it commits RocksDB had synced.
  // The directory is made and its parent synced first (at every open: one fsync).
  const std::string parent = std::filesystem::path(dir).parent_path().string();
  if (Status made = CreateDirs(dir); !made.ok()) {
    return Err(Status::IoError("state store " + dir + ": cannot create it: " + made.message()));
  }
  if (Status synced = SyncDir(parent.empty() ? "." : parent); !synced.ok()) {
    return Err(Status::IoError("state store " + dir + ": " + synced.message()));
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return Err(FromRocks(s, "state store " + dir + ": cannot open"));
  std::unique_ptr<StateStore> store(
      new StateStore(dir, std::unique_ptr<rocksdb::DB>(raw), cache_bytes));
  if (const char* env = std::getenv("ONCEFLOW_STATE_INGEST_MIN_WRITES")) {
    store->ingest_min_writes_ = std::max<size_t>(1, std::strtoull(env, nullptr, 10));
  }
  // Commit files of a run that crashed between Prepare and Commit were never ingested.
  std::error_code ec;
  std::filesystem::remove_all(store->ingest_dir_, ec);
  std::filesystem::create_directories(store->ingest_dir_, ec);
  if (ec) {
    return Err(Status::IoError("state store " + dir + ": cannot create " + store->ingest_dir_ +
                               ": " + ec.message()));
  }
  ONCEFLOW_RETURN_IF_ERROR(store->Load(tasks));
  return store;
}

Status StateStore::Load(int32_t tasks) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), MetaKey("format"), &value);
  if (s.IsNotFound()) {
    // A new store: its format and task count are written once, durably.
    rocksdb::WriteBatch wb;
    wb.Put(MetaKey("format"), std::to_string(kFormatVersion));
    wb.Put(MetaKey("tasks"), std::to_string(tasks));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ONCEFLOW_RETURN_IF_ERROR(
        FromRocks(db_->Write(wo, &wb), "state store " + dir_ + ": cannot initialise"));
    tasks_ = tasks;
    format_ = kFormatVersion;
    return Status::Ok();
  }
  ONCEFLOW_RETURN_IF_ERROR(FromRocks(s, "state store " + dir_));
  if (value != "1" && value != std::to_string(kFormatVersion)) {
    return Status::InvalidArgument("state store " + dir_ + ": format version " + value +
                                   " is not supported by this onceflow (it reads versions 1 to " +
                                   std::to_string(kFormatVersion) + ")");
  }
  format_ = value == "1" ? 1 : kFormatVersion;
  ONCEFLOW_RETURN_IF_ERROR(FromRocks(db_->Get(rocksdb::ReadOptions(), MetaKey("tasks"), &value),
                                     "state store " + dir_ + ": reading the task count"));
  if (value != std::to_string(tasks)) {
    return Status::InvalidArgument("state store " + dir_ + ": created with " + value +
                                   " state tasks, opened with " + std::to_string(tasks) +
                                   ": keys are partitioned by task, so the number cannot change");
  }
  tasks_ = tasks;
  // Every marker is written in the same WriteBatch, so they agree; check it all the same.
  std::optional<int64_t> batch;
  for (int32_t t = 0; t < tasks_; ++t) {
    s = db_->Get(rocksdb::ReadOptions(), MarkerKey(t), &value);
    int64_t b = -1;
    if (s.ok()) {
      if (value.size() != 8) return Status::Corruption("state store " + dir_ + ": bad marker");
      b = static_cast<int64_t>(coding::DecodeFixed64(value.data()));
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "state store " + dir_ + ": reading markers");
    }
    if (batch && *batch != b) {
      return Status::Corruption("state store " + dir_ + ": task markers disagree (" +
                                std::to_string(*batch) + " and " + std::to_string(b) + ")");
    }
    batch = b;
  }
  batch_ = BatchId(batch.value_or(-1));
  s = db_->Get(rocksdb::ReadOptions(), MetaKey("max_event_time"), &value);
  if (s.ok() && value.size() == 8) {
    max_event_time_ = static_cast<int64_t>(coding::DecodeFixed64(value.data()));
  } else if (!s.IsNotFound() && !s.ok()) {
    return FromRocks(s, "state store " + dir_ + ": reading max_event_time");
  }
  s = db_->Get(rocksdb::ReadOptions(), MetaKey("event_times"), &value);
  if (s.ok()) {
    event_times_ = std::move(value);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "state store " + dir_ + ": reading event_times");
  }
  return Status::Ok();
}

Result<std::optional<std::string>> StateStore::Get(std::string_view key) const {
  const bool cached = Cached(key) && cache_->enabled();
  uint64_t version = 0;
  if (cached) {
    if (auto hit = cache_->Lookup(key)) return std::move(*hit);
    version = cache_->Version(key);
  }
  NoPerfCounting();
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  std::optional<std::string> result;
  if (s.ok()) {
    result = std::move(value);
  } else if (!s.IsNotFound()) {
    return Err(FromRocks(s, "state store " + dir_ + ": get"));
  }
  // Absent keys are not cached: a key read and not found is nearly always written by the same
  // batch (a new key), and its commit caches it then.
  if (cached && result) cache_->Fill(key, result, version);
  return result;
}

Status StateStore::Scan(
    std::string_view begin, std::string_view end,
    const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end.data(), end.size());
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid(); it->Next()) {
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "state store " + dir_ + ": scan");
}

PreparedCommit::PreparedCommit() = default;
PreparedCommit::~PreparedCommit() {
  if (!file_.empty()) std::remove(file_.c_str());  // gone already if it was ingested
}
PreparedCommit::PreparedCommit(PreparedCommit&&) noexcept = default;
PreparedCommit& PreparedCommit::operator=(PreparedCommit&&) noexcept = default;

PreparedCommit StateStore::Prepare(BatchId batch, std::span<const StateDelta> deltas,
                                   std::optional<int64_t> max_event_time,
                                   std::optional<std::string> event_times) const {
  PreparedCommit prepared;
  prepared.batch_ = batch;
  prepared.max_event_time_ = max_event_time;
  prepared.event_times_ = std::move(event_times);
  const std::string marker = Fixed64(static_cast<uint64_t>(batch.value()));
  if (WriteCount(deltas) >= ingest_min_writes_) {
    std::vector<StateDelta::Write> extra;  // in key order: 'M' markers by task, then 'X'
    extra.reserve(static_cast<size_t>(tasks_) + 3);
    for (int32_t t = 0; t < tasks_; ++t) extra.emplace_back(MarkerKey(t), marker);
    if (prepared.event_times_) {
      extra.emplace_back(MetaKey("event_times"), *prepared.event_times_);
      if (format_ < kFormatVersion) {
        extra.emplace_back(MetaKey("format"), std::to_string(kFormatVersion));
      }
    }
    if (max_event_time) {
      extra.emplace_back(MetaKey("max_event_time"),
                         Fixed64(static_cast<uint64_t>(*max_event_time)));
    }
    std::string file = ingest_dir_ + "/batch-" + std::to_string(batch.value()) + "-" +
                       std::to_string(next_file_.fetch_add(1)) + ".sst";
    if (WriteCommitFile(db_->GetOptions(), file, deltas, extra).ok()) {
      prepared.file_ = std::move(file);
      return prepared;
    }
    // The WriteBatch below commits the same; a disk that cannot take the file fails it there.
  }
  prepared.write_ = std::make_unique<rocksdb::WriteBatch>();
  rocksdb::WriteBatch& wb = *prepared.write_;
  for (const StateDelta& d : deltas) {
    for (const StateDelta::Write& w : d.writes) {
      if (w.second) {
        wb.Put(w.first, *w.second);
      } else {
        wb.Delete(w.first);
      }
    }
  }
  for (int32_t t = 0; t < tasks_; ++t) wb.Put(MarkerKey(t), marker);
  if (prepared.event_times_) {
    wb.Put(MetaKey("event_times"), *prepared.event_times_);
    if (format_ < kFormatVersion) wb.Put(MetaKey("format"), std::to_string(kFormatVersion));
  }
  if (max_event_time) {
    wb.Put(MetaKey("max_event_time"), Fixed64(static_cast<uint64_t>(*max_event_time)));
  }
  return prepared;
}

Status StateStore::Commit(BatchId batch, std::span<StateDelta> deltas,
                          std::optional<int64_t> max_event_time, const ForEachFn& for_each) {
  return Commit(Prepare(batch, deltas, max_event_time), deltas, for_each);
}

Status StateStore::Commit(PreparedCommit prepared, std::span<StateDelta> deltas,
                          const ForEachFn& for_each) {
  const BatchId batch = prepared.batch_;
  if (batch <= batch_) {
    return Status::InvalidArgument("state store: commit of batch " + batch.ToString() +
                                   " but the store is already at batch " + batch_.ToString());
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  NoPerfCounting();
  const size_t writes = WriteCount(deltas);
  auto each_delta = [&](const std::function<void(size_t)>& fn) {
    if (for_each) {
      for_each(deltas.size(), fn);
    } else {
      for (size_t i = 0; i < deltas.size(); ++i) fn(i);
    }
  };
  auto fill_all = [&] {
    cache_->Reserve(writes);  // the fill does not grow the cache's tables step by step
    each_delta([&](size_t i) {
      for (const StateDelta::Write& w : deltas[i].writes) {
        if (Cached(w.first)) cache_->Update(w.first, w.second);
      }
    });
  };
  // A large commit fills the cache while RocksDB writes: nothing reads the cache during a commit
  // (the next batch's state tasks start after it), and a failed write empties it once the fill
  // is done, so the cache still never answers with anything but committed state.
  std::future<void> filling;
  if (writes >= kOverlapMinWrites) filling = std::async(std::launch::async, fill_all);
  Status written = faults::Hit("mid_state_commit");
  if (written.ok() && !prepared.file_.empty()) {
    rocksdb::IngestExternalFileOptions io;
    io.move_files = true;           // a hard link; the file was synced when written
    io.write_global_seqno = false;  // the sequence number goes in the manifest only
    written = FromRocks(db_->IngestExternalFile({prepared.file_}, io),
                        "state store " + dir_ + ": commit of batch " + batch.ToString() +
                            " (ingesting " + prepared.file_ + ")");
    if (written.ok()) ++ingested_commits_;
  } else if (written.ok()) {
    written = FromRocks(db_->Write(wo, prepared.write_.get()),
                        "state store " + dir_ + ": commit of batch " + batch.ToString());
  }
  if (filling.valid()) filling.get();
  if (!written.ok()) {
    // RocksDB applies a failed write nowhere, but what it holds is read afresh all the same:
    // the cache must never answer with anything but committed state.
    cache_->Clear();
    return written;
  }
  if (writes < kOverlapMinWrites) fill_all();
  // The deltas are left as they were on a failure (a retry may commit them again), empty now.
  each_delta([&](size_t i) { std::vector<StateDelta::Write>().swap(deltas[i].writes); });
  batch_ = batch;
  if (prepared.max_event_time_) max_event_time_ = prepared.max_event_time_;
  if (prepared.event_times_) {
    event_times_ = std::move(prepared.event_times_);
    format_ = kFormatVersion;
  }
  return Status::Ok();
}

uint64_t StateStore::ApproximateKeys() const {
  uint64_t n = 0;
  db_->GetIntProperty("rocksdb.estimate-num-keys", &n);
  return n;
}

}  // namespace onceflow::state
