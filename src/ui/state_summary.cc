// ReadStateSummary: a read-only RocksDB open (no lock: the running driver keeps its own) and a
// scan of the data keys, grouped by operator.
#include "ui/state_summary.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include <cstdarg>
#include <map>
#include <memory>

#include "util/file.h"

namespace onceflow::ui {
namespace {

// RocksDB would otherwise open (and rotate) the LOG file of the store, which is the running
// driver's: a look must change nothing.
class SilentLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

}  // namespace

Result<std::vector<OperatorState>> ReadStateSummary(const std::string& checkpoint_dir,
                                                    int64_t max_keys) {
  std::vector<OperatorState> out;
  const std::string dir = JoinPath(checkpoint_dir, "state");
  if (!PathExists(JoinPath(dir, "CURRENT"))) return out;
  rocksdb::Options options;
  options.create_if_missing = false;
  options.info_log = std::make_shared<SilentLogger>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, dir, &raw);
  if (!s.ok()) return Err(Status::IoError("state store " + dir + ": " + s.ToString()));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  std::map<int32_t, OperatorState> ops;
  int64_t scanned = 0;
  bool capped = false;
  // 'D' op:u16be task:u32be user_key -> value.
  for (it->Seek("D"); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() < 3 || key[0] != 'D') break;
    if (++scanned > max_keys) {
      capped = true;
      break;
    }
    const int32_t op = (static_cast<uint8_t>(key[1]) << 8) | static_cast<uint8_t>(key[2]);
    OperatorState& o = ops[op];
    o.op = op;
    ++o.keys;
    o.bytes += static_cast<int64_t>(key.size() + it->value().size());
  }
  if (!it->status().ok()) {
    return Err(Status::IoError("state store " + dir + ": " + it->status().ToString()));
  }
  for (auto& [op, o] : ops) {
    o.exact = !capped;
    out.push_back(o);
  }
  return out;
}

}  // namespace onceflow::ui
