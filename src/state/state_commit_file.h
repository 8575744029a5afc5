// A large commit of the state store written as one SST file, for RocksDB to ingest atomically.
//
// A commit of a million keys through a WriteBatch costs its memtable inserts and WAL write
// after the sink commit, on the batch's critical path (0.7-0.9 s for 1 M keys), and a flush
// later. Written as a sorted SST file instead, the work moves to StateStore::Prepare, which
// runs while the sink commits; the commit itself is then RocksDB's IngestExternalFile: a link
// and a synced manifest record, all of the file or nothing of it after a crash. The markers
// and the max event time are in the same file, so the store is still wholly at one batch.
#pragma once

#include <span>
#include <string>

#include "onceflow/status.h"
#include "state/state_store.h"

namespace rocksdb {
struct Options;
}

namespace onceflow::state {

// Writes every write of `deltas` (each delta's writes sorted by key, no key in two deltas) and
// of `extra` (sorted) into a new SST file at `path`, in key order, deletions as tombstones,
// and syncs it. On failure no file is left at `path`.
Status WriteCommitFile(const rocksdb::Options& options, const std::string& path,
                       std::span<const StateDelta> deltas,
                       std::span<const StateDelta::Write> extra);

}  // namespace onceflow::state
