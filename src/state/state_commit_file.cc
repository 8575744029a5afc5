// Writing a commit as an SST file.
#include "state/state_commit_file.h"

#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>

#include <cstdio>
#include <vector>

namespace onceflow::state {

Status WriteCommitFile(const rocksdb::Options& options, const std::string& path,
                       std::span<const StateDelta> deltas,
                       std::span<const StateDelta::Write> extra) {
  // The sorted runs: one per delta, and the extra writes. Few runs (one per state task): the
  // smallest head is found by a linear scan.
  std::vector<std::span<const StateDelta::Write>> runs;
  runs.reserve(deltas.size() + 1);
  for (const StateDelta& d : deltas) {
    if (!d.writes.empty()) runs.emplace_back(d.writes);
  }
  if (!extra.empty()) runs.push_back(extra);
  // The page cache keeps the file's pages: the next batches read what this one wrote.
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, /*column_family=*/nullptr,
                                /*invalidate_page_cache=*/false);
  auto fail = [&](const rocksdb::Status& s) {
    std::remove(path.c_str());
    return Status::IoError("state store: writing the commit file " + path + ": " + s.ToString());
  };
  rocksdb::Status s = writer.Open(path);
  if (!s.ok()) return fail(s);
  std::vector<size_t> next(runs.size(), 0);
  while (true) {
    size_t best = runs.size();
    for (size_t r = 0; r < runs.size(); ++r) {
      if (next[r] == runs[r].size()) continue;
      if (best == runs.size() || runs[r][next[r]].first < runs[best][next[best]].first) best = r;
    }
    if (best == runs.size()) break;
    const StateDelta::Write& w = runs[best][next[best]++];
    // Out of order or twice: SstFileWriter refuses it, and the caller falls back to a WriteBatch.
    s = w.second ? writer.Put(w.first, *w.second) : writer.Delete(w.first);
    if (!s.ok()) return fail(s);
  }
  s = writer.Finish();  // syncs the file
  if (!s.ok()) return fail(s);
  return Status::Ok();
}

}  // namespace onceflow::state
