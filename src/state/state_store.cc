// The RocksDB-backed state store.
#include "state/state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>

#include "state/state_format.h"
#include "util/coding.h"

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

}  // namespace

std::string StateDir(const std::string& checkpoint_dir) { return checkpoint_dir + "/state"; }

StateStore::StateStore(std::string dir, std::unique_ptr<rocksdb::DB> db)
    : dir_(std::move(dir)), db_(std::move(db)) {}

StateStore::~StateStore() {
  if (db_) db_->Close().PermitUncheckedError();  // a close error loses nothing: the WAL is synced
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir, int32_t tasks) {
  if (tasks < 1) return Err(Status::InvalidArgument("state store: tasks must be at least 1"));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  options.max_open_files = 256;
  options.write_buffer_size = 64 << 20;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(64 << 20);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return Err(FromRocks(s, "state store " + dir + ": cannot open"));
  std::unique_ptr<StateStore> store(new StateStore(dir, std::unique_ptr<rocksdb::DB>(raw)));
  RETURN_IF_ERROR(store->Load(tasks));
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
    RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "state store " + dir_ + ": cannot initialise"));
    tasks_ = tasks;
    return Status::Ok();
  }
  RETURN_IF_ERROR(FromRocks(s, "state store " + dir_));
  if (value != std::to_string(kFormatVersion)) {
    return Status::InvalidArgument("state store " + dir_ + ": format version " + value +
                                   " is not supported by this onceflow (it reads version " +
                                   std::to_string(kFormatVersion) + ")");
  }
  RETURN_IF_ERROR(FromRocks(db_->Get(rocksdb::ReadOptions(), MetaKey("tasks"), &value),
                            "state store " + dir_ + ": reading the task count"));
  if (value != std::to_string(tasks)) {
    return Status::InvalidArgument(
        "state store " + dir_ + ": created with " + value + " state tasks, opened with " +
        std::to_string(tasks) + ": keys are partitioned by task, so the number cannot change");
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
  return Status::Ok();
}

Result<std::optional<std::string>> StateStore::Get(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return Err(FromRocks(s, "state store " + dir_ + ": get"));
  return std::optional<std::string>(std::move(value));
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

Status StateStore::Commit(BatchId batch, std::span<const StateDelta> deltas,
                          std::optional<int64_t> max_event_time) {
  if (batch <= batch_) {
    return Status::InvalidArgument("state store: commit of batch " + batch.ToString() +
                                   " but the store is already at batch " + batch_.ToString());
  }
  rocksdb::WriteBatch wb;
  for (const StateDelta& d : deltas) {
    for (const auto& [key, value] : d.writes) {
      if (value) {
        wb.Put(key, *value);
      } else {
        wb.Delete(key);
      }
    }
  }
  const std::string marker = Fixed64(static_cast<uint64_t>(batch.value()));
  for (int32_t t = 0; t < tasks_; ++t) wb.Put(MarkerKey(t), marker);
  if (max_event_time) {
    wb.Put(MetaKey("max_event_time"), Fixed64(static_cast<uint64_t>(*max_event_time)));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "state store " + dir_ + ": commit of batch " +
                                                      batch.ToString()));
  batch_ = batch;
  if (max_event_time) max_event_time_ = max_event_time;
  return Status::Ok();
}

uint64_t StateStore::ApproximateKeys() const {
  uint64_t n = 0;
  db_->GetIntProperty("rocksdb.estimate-num-keys", &n);
  return n;
}

}  // namespace onceflow::state
