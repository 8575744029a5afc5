// The LOSSES file of a partition and the process-wide loss reporter.
#include "log/loss_record.h"

#include <algorithm>
#include <charconv>
#include <mutex>

#include "util/file.h"

namespace onceflow::log {
namespace {

constexpr std::string_view kHeader = "# onceflow partition losses, format 1";

std::string_view KindName(LossKind kind) {
  return kind == LossKind::kTornTail ? "torn_tail" : "skipped";
}

std::mutex& ReporterMutex() {
  static std::mutex mu;
  return mu;
}
LossReporter& Reporter() {
  static LossReporter reporter;
  return reporter;
}

bool ParseInt(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits "<dir>/topics/<topic>/<partition>" into topic, partition and data directory.
bool SplitTopicPartition(const std::string& dir, std::string* data, std::string* topic,
                         std::string* partition) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  const size_t p1 = d.rfind('/');
  if (p1 == std::string::npos || p1 == 0) return false;
  const size_t p0 = d.rfind('/', p1 - 1);
  if (p0 == std::string::npos) return false;
  const std::string parts = d.substr(0, p0);
  const size_t pt = parts.rfind('/');
  const std::string topics = pt == std::string::npos ? parts : parts.substr(pt + 1);
  if (topics != "topics") return false;
  *partition = d.substr(p1 + 1);
  *topic = d.substr(p0 + 1, p1 - p0 - 1);
  *data = pt == std::string::npos ? "." : parts.substr(0, pt);
  int64_t n = 0;
  return !partition->empty() && ParseInt(*partition, &n);
}

}  // namespace

std::string PartitionLabel(const std::string& partition_dir) {
  std::string data, topic, partition;
  if (!SplitTopicPartition(partition_dir, &data, &topic, &partition)) return partition_dir;
  return "topic '" + topic + "' partition " + partition;
}

std::string RepairCommand(const std::string& partition_dir) {
  std::string data, topic, partition;
  if (!SplitTopicPartition(partition_dir, &data, &topic, &partition)) return "";
  return "onceflow topics repair " + topic + " --partition " + partition +
         " --skip-damaged --data " + data;
}

std::string DamageWayOut(const std::string& partition_dir) {
  const std::string repair = RepairCommand(partition_dir);
  return repair.empty() ? "" : "; to skip the damaged range deliberately: " + repair;
}

std::string LossEvent::Describe() const {
  const std::string where = PartitionLabel(partition_dir) + " (" +
                            JoinPath(partition_dir, segment) + " byte " + std::to_string(byte) +
                            ")";
  const std::string offsets = !last_known() ? "offsets from " + first.ToString() + " on"
                              : first == last
                                  ? "offset " + first.ToString()
                                  : "offsets " + first.ToString() + ".." + last.ToString();
  if (kind == LossKind::kTornTail) {
    return "log: cut a torn tail off " + where + ": " + offsets + " lost (" + reason +
           "); only the last group write, not yet synced, can be cut: with durability fsync it "
           "was never acknowledged; these offsets will be handed out again";
  }
  return "log: " + offsets + " of " + where +
         " recorded as lost: a damaged range skipped by 'topics repair --skip-damaged' (" + reason +
         "); readers skip it";
}

std::string EncodeLosses(const std::vector<LossEvent>& events) {
  std::string out(kHeader);
  out += '\n';
  for (const LossEvent& e : events) {
    std::string reason = e.reason;
    std::replace(reason.begin(), reason.end(), '\n', ' ');  // one line per event
    out += std::string(KindName(e.kind)) + " segment=" + e.segment +
           " byte=" + std::to_string(e.byte) + " first=" + e.first.ToString() +
           " last=" + e.last.ToString() + " time_ms=" + std::to_string(e.time_ms) +
           " reason=" + reason + "\n";
  }
  return out;
}

Result<std::vector<LossEvent>> DecodeLosses(std::string_view text, const std::string& path) {
  std::vector<LossEvent> out;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line_no == 1) {
      if (line != kHeader) {
        return Err(Status::Corruption(path + ": not a losses file of format 1 (first line '" +
                                      std::string(line) + "')"));
      }
      continue;
    }
    if (line.empty()) continue;
    auto bad = [&](std::string_view what) {
      return Status::Corruption(path + " line " + std::to_string(line_no) + ": " +
                                std::string(what));
    };
    LossEvent e;
    const size_t reason_at = line.find(" reason=");
    if (reason_at == std::string_view::npos) return Err(bad("no reason="));
    e.reason = std::string(line.substr(reason_at + 8));
    std::string_view fields = line.substr(0, reason_at);
    std::vector<std::string_view> tokens;
    for (size_t i = 0; i <= fields.size();) {
      size_t sp = fields.find(' ', i);
      if (sp == std::string_view::npos) sp = fields.size();
      tokens.push_back(fields.substr(i, sp - i));
      i = sp + 1;
    }
    if (tokens.size() != 6) return Err(bad("expected 6 fields before reason="));
    if (tokens[0] == "torn_tail") {
      e.kind = LossKind::kTornTail;
    } else if (tokens[0] == "skipped") {
      e.kind = LossKind::kSkipped;
    } else {
      return Err(bad("unknown kind '" + std::string(tokens[0]) + "'"));
    }
    const std::string_view keys[] = {"segment=", "byte=", "first=", "last=", "time_ms="};
    int64_t n[5] = {0, 0, 0, 0, 0};
    for (int i = 0; i < 5; ++i) {
      std::string_view t = tokens[static_cast<size_t>(i) + 1];
      if (!t.starts_with(keys[i])) return Err(bad("expected " + std::string(keys[i])));
      t.remove_prefix(keys[i].size());
      if (i == 0) {
        e.segment = std::string(t);
      } else if (!ParseInt(t, &n[i])) {
        return Err(bad("bad number in " + std::string(keys[i])));
      }
    }
    e.byte = static_cast<uint64_t>(n[1]);
    e.first = Offset(n[2]);
    e.last = Offset(n[3]);
    e.time_ms = n[4];
    if (e.kind == LossKind::kSkipped && e.last < e.first) return Err(bad("empty skipped range"));
    out.push_back(std::move(e));
  }
  if (line_no == 0) return Err(Status::Corruption(path + ": empty losses file"));
  return out;
}

Result<std::vector<LossEvent>> ReadLosses(const std::string& partition_dir) {
  const std::string path = JoinPath(partition_dir, kLossFileName);
  auto text = ReadFileToString(path);
  if (!text.has_value()) {
    if (text.error().IsNotFound()) return std::vector<LossEvent>{};
    return Err(text.error());
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto events, DecodeLosses(*text, path));
  for (LossEvent& e : events) e.partition_dir = partition_dir;
  return events;
}

Status AppendLoss(const std::string& partition_dir, const LossEvent& event) {
  ONCEFLOW_ASSIGN_OR_RETURN(auto events, ReadLosses(partition_dir));
  events.push_back(event);
  return WriteFileAtomically(JoinPath(partition_dir, kLossFileName), EncodeLosses(events));
}

void SetLossReporter(LossReporter reporter) {
  std::lock_guard lock(ReporterMutex());
  Reporter() = std::move(reporter);
}

void ReportLoss(const LossEvent& event) {
  std::lock_guard lock(ReporterMutex());
  if (Reporter()) Reporter()(event);
}

}  // namespace onceflow::log
