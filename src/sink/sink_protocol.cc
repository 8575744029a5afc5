// The database-independent part of the progress-row protocol, shared by the sinks.
#include "sink/sink_protocol.h"

#include <chrono>
#include <set>
#include <utility>

namespace onceflow::sink {

std::string_view ModeName(SinkMode mode) {
  switch (mode) {
    case SinkMode::kAppend: return "append";
    case SinkMode::kUpsert: return "upsert";
    case SinkMode::kStatements: return "statements";
    case SinkMode::kAdditive: return "additive";
  }
  return "unknown";
}

Status ValidateModeOptions(const std::string& where, SinkMode mode, const std::string& table,
                           std::span<const std::string> key,
                           std::span<const std::string> statements) {
  const std::string mode_name(ModeName(mode));
  if (mode == SinkMode::kAppend || mode == SinkMode::kUpsert) {
    if (table.empty()) {
      return Status::InvalidArgument(where + "sink.table is required in " + mode_name + " mode");
    }
    if (!IsSafeIdentifier(table)) {
      return Status::InvalidArgument(where + "sink.table '" + table +
                                     "' is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)");
    }
  }
  if (mode == SinkMode::kUpsert) {
    if (key.empty()) {
      return Status::InvalidArgument(where + "sink.key (the conflict columns) is required in "
                                             "upsert mode");
    }
    std::set<std::string> seen;
    for (const std::string& k : key) {
      if (!IsSafeIdentifier(k)) {
        return Status::InvalidArgument(where + "sink.key column '" + k +
                                       "' is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)");
      }
      if (!seen.insert(k).second) {
        return Status::InvalidArgument(where + "sink.key names column '" + k + "' twice");
      }
    }
  }
  if (mode == SinkMode::kStatements) {
    if (statements.empty()) {
      return Status::InvalidArgument(where + "sink.statements is required in statements mode");
    }
    for (size_t i = 0; i < statements.size(); ++i) {
      if (statements[i].find_first_not_of(" \t\r\n;") == std::string::npos) {
        return Status::InvalidArgument(where + "sink.statements: statement " +
                                       std::to_string(i + 1) + " is empty");
      }
    }
  }
  return Status::Ok();
}

namespace {

// Checks one list of column = field pairs of additive mode; `key` names it in messages.
Status CheckColumnFields(const std::string& where, const std::string& key,
                         std::span<const ColumnField> pairs, bool signed_fields,
                         std::set<std::string>* columns) {
  if (pairs.empty()) return Status::InvalidArgument(where + key + ": required, not empty");
  for (const ColumnField& p : pairs) {
    if (!IsSafeIdentifier(p.column)) {
      return Status::InvalidArgument(where + key + ": column '" + p.column +
                                     "' is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)");
    }
    if (!columns->insert(p.column).second) {
      return Status::InvalidArgument(where + key + ": column '" + p.column + "' is named twice");
    }
    std::string_view field = p.field;
    if (signed_fields && field.starts_with('-')) field.remove_prefix(1);
    if (field.empty()) {
      return Status::InvalidArgument(where + key + ": column '" + p.column + "' names no field");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateAdditiveOptions(const std::string& where, std::span<const AddTo> add,
                               const AppendTo& append) {
  if (add.empty()) {
    return Status::InvalidArgument(where + "sink.add is required in additive mode (one entry per "
                                           "table and key a row adds to)");
  }
  for (size_t i = 0; i < add.size(); ++i) {
    const AddTo& a = add[i];
    const std::string key = "sink.add[" + std::to_string(i) + "]";
    if (!IsSafeIdentifier(a.table)) {
      return Status::InvalidArgument(where + key + ".table '" + a.table +
                                     "' is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)");
    }
    std::set<std::string> columns;
    ONCEFLOW_RETURN_IF_ERROR(CheckColumnFields(where, key + ".key", a.key, false, &columns));
    ONCEFLOW_RETURN_IF_ERROR(CheckColumnFields(where, key + ".add", a.add, true, &columns));
    for (size_t j = 0; j < i; ++j) {
      if (add[j].table != a.table) continue;
      std::set<std::string> mine, theirs;
      for (const ColumnField& k : a.key) mine.insert(k.column);
      for (const ColumnField& k : add[j].key) theirs.insert(k.column);
      if (mine != theirs) {
        return Status::InvalidArgument(where + key + ".key: table '" + a.table +
                                       "' is keyed by other columns in sink.add[" +
                                       std::to_string(j) + "]; one table has one key");
      }
      break;
    }
  }
  if (append.table.empty()) {
    if (!append.columns.empty()) {
      return Status::InvalidArgument(where + "sink.append.columns: sink.append.table is required");
    }
    return Status::Ok();
  }
  if (!IsSafeIdentifier(append.table)) {
    return Status::InvalidArgument(where + "sink.append.table '" + append.table +
                                   "' is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)");
  }
  std::set<std::string> columns;
  return CheckColumnFields(where, "sink.append.columns", append.columns, false, &columns);
}

std::string TaskName(const std::string& pipeline, int32_t task) {
  return "pipeline '" + pipeline + "' task " + std::to_string(task);
}

namespace {

// Checks what a commit would store: the ranges must read back (DecodeRanges) as they were.
Status ValidateTask(const TaskCommit& t) {
  const std::string who = TaskName(t.pipeline, t.task);
  if (t.pipeline.empty()) return Status::InvalidArgument("commit: the pipeline name is empty");
  if (t.task < 0) return Status::InvalidArgument("commit: " + who + ": negative task");
  if (t.batch.value() < 0) return Status::InvalidArgument("commit: " + who + ": negative batch");
  std::set<int32_t> partitions;
  for (const TaskRange& r : t.ranges) {
    const std::string range =
        r.partition.ToString() + ":" + r.from.ToString() + "-" + r.until.ToString();
    if (r.partition.value() < 0 || r.from.value() < 0 || r.until < r.from) {
      return Status::InvalidArgument("commit: " + who + ": bad range " + range);
    }
    if (!partitions.insert(r.partition.value()).second) {
      return Status::InvalidArgument("commit: " + who + ": partition " + r.partition.ToString() +
                                     " appears in two ranges");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateCommit(const std::string& describe, std::span<const TaskCommit> tasks) {
  std::set<std::pair<std::string_view, int32_t>> seen;
  for (const TaskCommit& t : tasks) {
    ONCEFLOW_RETURN_IF_ERROR(ValidateTask(t).WithContext(describe));
    if (!seen.emplace(t.pipeline, t.task).second) {
      return Status::InvalidArgument(describe + ": commit: " + TaskName(t.pipeline, t.task) +
                                     " appears twice");
    }
  }
  return Status::Ok();
}

Result<TaskProgress> DecideClaim(const std::string& describe, const std::string& pipeline,
                                 int32_t task, Epoch epoch,
                                 const std::optional<TaskProgress>& stored) {
  if (stored.has_value() && stored->epoch > epoch) {
    return Err(Status::Fenced(describe + ": " + TaskName(pipeline, task) +
                              ": cannot take it "
                              "over for epoch " +
                              epoch.ToString() + ": epoch " + stored->epoch.ToString() +
                              " already holds it"));
  }
  TaskProgress after;
  after.last_batch = BatchId(-1);
  if (stored.has_value()) after = *stored;
  after.epoch = epoch;
  return after;
}

Result<CommitOutcome> DecideTask(const std::string& describe, const TaskCommit& t,
                                 const std::optional<TaskProgress>& stored) {
  if (!stored.has_value()) return CommitOutcome::kCommitted;
  const std::string who = describe + ": " + TaskName(t.pipeline, t.task);
  if (stored->epoch > t.epoch) {
    return Err(Status::Fenced(who + ": epoch " + t.epoch.ToString() + " is fenced by epoch " +
                              stored->epoch.ToString() + ", which committed batch " +
                              stored->last_batch.ToString()));
  }
  if (!t.source.empty() && !stored->source.empty() && t.source != stored->source) {
    // Offsets of one source mean nothing in another: continuing would skip or repeat records.
    return Err(Status::Aborted(who + ": the progress row (batch " + stored->last_batch.ToString() +
                               ") belongs to " + "source '" + stored->source + "', but batch " +
                               t.batch.ToString() + " reads source '" + t.source +
                               "': the pipeline's source changed identity; nothing was committed"));
  }
  if (stored->last_batch == t.batch && stored->ranges != t.ranges) {
    // Guarantee 3: a batch re-run after a crash reads exactly its recorded ranges.
    return Err(Status::Aborted(who + ": batch " + t.batch.ToString() +
                               " was committed with "
                               "ranges " +
                               EncodeRanges(stored->ranges) +
                               " but is replayed "
                               "with " +
                               EncodeRanges(t.ranges) +
                               ": the replay is not "
                               "deterministic"));
  }
  // A stored digest of an older form is not compared: the same output hashes differently in it.
  if (stored->last_batch == t.batch && t.digest.has_value() && stored->digest.has_value() &&
      Comparable(*t.digest, *stored->digest) && *t.digest != *stored->digest) {
    return CommitOutcome::kAlreadyCommittedDiffers;
  }
  if (stored->last_batch >= t.batch) return CommitOutcome::kAlreadyCommitted;
  for (const TaskRange& r : t.ranges) {
    for (const TaskRange& prev : stored->ranges) {
      if (prev.partition != r.partition || prev.until == r.from) continue;
      const char* kind = r.from > prev.until ? "gap" : "overlap";
      return Err(Status::Aborted(who + " partition " + r.partition.ToString() + ": " + kind +
                                 ": batch " + t.batch.ToString() + " starts at offset " +
                                 r.from.ToString() + " but batch " + stored->last_batch.ToString() +
                                 " ended at offset " + prev.until.ToString()));
    }
  }
  return CommitOutcome::kCommitted;
}

Result<TaskStarts> StartsFromColumn(std::optional<std::string_view> column,
                                    std::span<const TaskRange> ranges) {
  if (column.has_value()) return DecodeStarts(*column);
  TaskStarts unknown;
  for (const TaskRange& r : ranges) unknown.emplace(r.partition, std::nullopt);
  return unknown;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    if (c < 0x80) {
      n = 0;
    } else if ((c >> 5) == 0x6) {
      n = 1;
    } else if ((c >> 4) == 0xe) {
      n = 2;
    } else if ((c >> 3) == 0x1e) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // a truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n + 1;
  }
  return true;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

bool IsSafeIdentifier(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && (i == 0 || c < '0' || c > '9')) return false;
  }
  return true;
}

}  // namespace onceflow::sink
