// The progress row's text forms of a task's input ranges ("0:10-20,1:5-7") and starts
// ("0:10,1:?"), and how a commit moves a row forward.
#include "sink/sink.h"

#include <charconv>
#include <unordered_set>

namespace onceflow::sink {
namespace {

// Parses a non-negative decimal integer that makes up all of `text`: no sign, no spaces.
template <typename Int>
bool ParseNonNegative(std::string_view text, Int* out) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

Status BadRanges(std::string_view text, std::string_view item, std::string_view why) {
  return Status::InvalidArgument("bad ranges '" + std::string(text) + "': '" + std::string(item) +
                                 "' " + std::string(why));
}

}  // namespace

std::string EncodeRanges(std::span<const TaskRange> ranges) {
  std::string out;
  for (const TaskRange& r : ranges) {
    if (!out.empty()) out += ',';
    out += r.partition.ToString();
    out += ':';
    out += r.from.ToString();
    out += '-';
    out += r.until.ToString();
  }
  return out;
}

Result<std::vector<TaskRange>> DecodeRanges(std::string_view text) {
  std::vector<TaskRange> ranges;
  if (text.empty()) return ranges;  // a task that read no partition
  std::unordered_set<int32_t> seen;
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const size_t colon = item.find(':');
    const size_t dash = item.find('-', colon == std::string_view::npos ? 0 : colon);
    if (colon == std::string_view::npos || dash == std::string_view::npos) {
      return Err(BadRanges(text, item, "is not partition:from-until"));
    }
    int32_t partition = 0;
    int64_t from = 0;
    int64_t until = 0;
    if (!ParseNonNegative(item.substr(0, colon), &partition)) {
      return Err(BadRanges(text, item, "has a bad partition (a non-negative integer)"));
    }
    if (!ParseNonNegative(item.substr(colon + 1, dash - colon - 1), &from) ||
        !ParseNonNegative(item.substr(dash + 1), &until)) {
      return Err(BadRanges(text, item, "has a bad offset (a non-negative integer)"));
    }
    if (until < from) return Err(BadRanges(text, item, "ends before it starts"));
    if (!seen.insert(partition).second) {
      return Err(BadRanges(text, item, "repeats partition " + std::to_string(partition)));
    }
    ranges.push_back({PartitionId(partition), Offset(from), Offset(until)});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return ranges;
}

std::string EncodeStarts(const TaskStarts& started) {
  std::string out;
  for (const auto& [partition, offset] : started) {
    if (!out.empty()) out += ',';
    out += partition.ToString();
    out += ':';
    out += offset.has_value() ? offset->ToString() : "?";
  }
  return out;
}

Result<TaskStarts> DecodeStarts(std::string_view text) {
  TaskStarts started;
  if (text.empty()) return started;
  auto bad = [&](std::string_view item, std::string_view why) {
    return Status::InvalidArgument("bad starts '" + std::string(text) + "': '" + std::string(item) +
                                   "' " + std::string(why));
  };
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) return Err(bad(item, "is not partition:offset"));
    int32_t partition = 0;
    if (!ParseNonNegative(item.substr(0, colon), &partition)) {
      return Err(bad(item, "has a bad partition (a non-negative integer)"));
    }
    std::optional<Offset> offset;
    const std::string_view value = item.substr(colon + 1);
    if (value != "?") {
      int64_t from = 0;
      if (!ParseNonNegative(value, &from)) {
        return Err(bad(item, "has a bad offset (a non-negative integer or ?)"));
      }
      offset = Offset(from);
    }
    if (!started.emplace(PartitionId(partition), offset).second) {
      return Err(bad(item, "repeats partition " + std::to_string(partition)));
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return started;
}

TaskProgress ProgressAfter(const std::optional<TaskProgress>& stored, BatchId batch, Epoch epoch,
                           std::span<const TaskRange> ranges, const std::string& source,
                           const std::optional<OutputDigest>& digest) {
  TaskProgress after;
  if (stored.has_value()) {
    after.source = stored->source;
    after.started = stored->started;
  }
  after.last_batch = batch;
  after.epoch = epoch;
  after.ranges.assign(ranges.begin(), ranges.end());
  if (!source.empty()) after.source = source;
  after.digest = digest;
  // The first commit of a partition is where its output begins.
  for (const TaskRange& r : ranges) after.started.emplace(r.partition, r.from);
  return after;
}

Result<std::map<int32_t, TaskProgress>> Sink::Claim(const std::string&, std::span<const int32_t>,
                                                    Epoch) {
  return Err(Status::InvalidArgument(Describe() + ": this sink cannot be shared by several "
                                                  "processes (source.assign = \"group\")"));
}

}  // namespace onceflow::sink
