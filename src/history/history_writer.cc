// HistoryWriter: open (torn tail cut, generations checked), append, roll.
#include "history/history_writer.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <set>

#include "history/history_file.h"
#include "history/history_reader.h"

namespace onceflow::history {

Result<std::unique_ptr<HistoryWriter>> HistoryWriter::Open(const std::string& checkpoint_dir,
                                                           HistoryWriterOptions options) {
  options.max_batches = std::max<int64_t>(1, options.max_batches);
  const std::string dir = HistoryDir(checkpoint_dir);
  // Not CreateDirs, which fsyncs the parents: history is never synced (a power loss may lose
  // the directory with its records, like the records), so it adds no sync to a run.
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Err(ErrnoStatus("mkdir", dir, errno));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(HistorySnapshot snap, ReadHistorySnapshot(dir));
  std::unique_ptr<HistoryWriter> w(new HistoryWriter(dir, std::move(options)));
  if (!snap.warning.empty() && w->options_.log) w->options_.log(snap.warning);
  for (auto it = snap.entries.rbegin(); it != snap.entries.rend(); ++it) {
    std::optional<ParsedBatchKey> key = ParseBatchKey(it->key);
    if (key.has_value() && key->outcome == "committed") {
      if (!w->last_committed_at_open_.has_value() || key->batch_id > *w->last_committed_at_open_) {
        w->last_committed_at_open_ = key->batch_id;
      }
    }
  }
  const std::string newest_path = JoinPath(dir, MakeHistoryFileName(snap.newest_generation));
  const bool newest_damaged =
      snap.newest_generation > 0 && snap.warning.find(newest_path) != std::string::npos;
  const bool newest_headless = snap.newest_generation > 0 && snap.newest_max_batches == 0 &&
                               snap.newest_entries == 0 && !newest_damaged;
  if (newest_headless) {
    // A crash cut the newest file before its header was written: it is started afresh.
    ONCEFLOW_RETURN_IF_ERROR(w->StartGeneration(snap.newest_generation));
  } else if (snap.newest_generation == 0 || newest_damaged ||
             snap.newest_max_batches != w->options_.max_batches) {
    // A new generation: the first, or after a damaged newest file (never written into again:
    // readers keep seeing its records up to the damage until it is dropped), or for another
    // max_batches (readers take the bound from the newest file).
    ONCEFLOW_RETURN_IF_ERROR(w->StartGeneration(snap.newest_generation + 1));
  } else {
    ONCEFLOW_ASSIGN_OR_RETURN(w->file_, File::Open(newest_path, File::Mode::kReadWrite));
    ONCEFLOW_ASSIGN_OR_RETURN(uint64_t size, w->file_.Size());
    // A torn tail (a write cut by a crash) is cut away so the next entry follows a whole one.
    if (size > snap.newest_valid_end)
      ONCEFLOW_RETURN_IF_ERROR(w->file_.Truncate(snap.newest_valid_end));
    w->generation_ = snap.newest_generation;
    w->end_ = snap.newest_valid_end;
    w->entries_ = static_cast<int64_t>(snap.newest_entries) + 1;  // + the header
    w->batch_records_ = static_cast<int64_t>(snap.newest_entries);
  }
  ONCEFLOW_RETURN_IF_ERROR(w->DropOldGenerations());
  return w;
}

Status HistoryWriter::StartGeneration(uint64_t generation) {
  const std::string path = JoinPath(dir_, MakeHistoryFileName(generation));
  ONCEFLOW_ASSIGN_OR_RETURN(File file, File::Open(path, File::Mode::kCreate));
  // A file left by a crash in the middle of a roll is started afresh.
  ONCEFLOW_RETURN_IF_ERROR(file.Truncate(0));
  file_ = std::move(file);
  generation_ = generation;
  end_ = 0;
  entries_ = 0;
  batch_records_ = 0;
  return Write(std::string(kHeaderKey),
               fmt::format("{}{}", kHeaderValuePrefix, options_.max_batches), 0);
}

Status HistoryWriter::DropOldGenerations() {
  ONCEFLOW_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_));
  for (const std::string& name : names) {
    std::optional<uint64_t> g = ParseHistoryFileName(name);
    if (g.has_value() && *g + kGenerationsKept <= generation_) {
      ONCEFLOW_RETURN_IF_ERROR(RemoveFile(JoinPath(dir_, name)));
    }
  }
  return Status::Ok();
}

Status HistoryWriter::Write(const std::string& key, const std::string& value,
                            int64_t timestamp_ms) {
  const std::string entry = EncodeHistoryEntry(key, value, timestamp_ms, entries_);
  // One write per entry, at the end: a reader sees it whole or cut short (a torn tail).
  ONCEFLOW_RETURN_IF_ERROR(file_.WriteAt(end_, entry));
  end_ += entry.size();
  ++entries_;
  return Status::Ok();
}

void HistoryWriter::Append(const BatchRecord& record) {
  if (!enabled_) return;
  Status s;
  if (batch_records_ >= options_.max_batches) {
    s = StartGeneration(generation_ + 1);
    if (s.ok()) s = DropOldGenerations();
  }
  if (s.ok()) {
    s = Write(MakeBatchKey(record.batch_id, record.outcome), BatchRecordToJson(record),
              record.end_time_ms);
  }
  if (!s.ok()) {
    TurnOff(s);
    return;
  }
  ++batch_records_;
}

std::string HistoryOffLine(const Status& error) {
  std::string what = error.message();
  if (what.starts_with(kDiskFull)) what = "no space left: " + what.substr(kDiskFull.size());
  return "batch history turned off for this run (the pipeline goes on without it): " + what;
}

bool FirstTimeOff(const std::string& history_dir) {
  static std::mutex mu;
  static std::set<std::string>* said = new std::set<std::string>();  // never destroyed
  std::lock_guard lock(mu);
  return said->insert(history_dir).second;
}

void HistoryWriter::TurnOff(const Status& error) {
  enabled_ = false;
  if (options_.log && FirstTimeOff(dir_)) options_.log(HistoryOffLine(error));
}

}  // namespace onceflow::history
