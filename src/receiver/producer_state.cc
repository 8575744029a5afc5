// The producer table: sequence checks, log scan and snapshot encoding.
#include "receiver/producer_state.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "util/crc32c.h"
#include "util/file.h"

namespace onceflow::receiver {
namespace {

constexpr std::string_view kSnapshotMagic = "onceflow-producer-snapshot 1";
constexpr size_t kScanBytes = 4u << 20;

bool ParseInt(std::string_view s, int64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Status ValidateProducerId(std::string_view id) {
  if (id.empty() || id.size() > kMaxProducerIdBytes) {
    return Status::InvalidArgument("producer id must be 1-" + std::to_string(kMaxProducerIdBytes) +
                                   " characters, got " + std::to_string(id.size()));
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("producer id may only hold [A-Za-z0-9._:-]");
    }
  }
  return Status::Ok();
}

SequenceCheck ProducerState::Check(std::string_view producer_id, int64_t first_sequence,
                                   uint32_t count) const {
  SequenceCheck c;
  const Producer* p = Find(producer_id);
  const std::string range = std::to_string(first_sequence) + ".." +
                            std::to_string(first_sequence + static_cast<int64_t>(count) - 1);
  if (p == nullptr) {
    if (first_sequence != 0) {
      c.verdict = SequenceCheck::Verdict::kReject;
      c.error = "unknown producer id '" + std::string(producer_id) +
                "' (never seen, or expired "
                "after being idle): its first request must have sequence 0, got " +
                std::to_string(first_sequence);
    }
    return c;
  }
  const int64_t last = p->recent.back().last_sequence();
  if (first_sequence == last + 1) return c;
  if (first_sequence > last + 1) {
    c.verdict = SequenceCheck::Verdict::kReject;
    c.error = "sequence gap for producer '" + std::string(producer_id) + "': expected sequence " +
              std::to_string(last + 1) + ", got " + std::to_string(first_sequence);
    return c;
  }
  for (const StoredRequest& r : p->recent) {
    if (r.first_sequence == first_sequence && r.count == count) {
      c.verdict = SequenceCheck::Verdict::kDuplicate;
      c.original = r;
      return c;
    }
  }
  c.verdict = SequenceCheck::Verdict::kReject;
  c.error = "sequences " + range + " of producer '" + std::string(producer_id) +
            "' were already stored (up to " + std::to_string(last) +
            ") but not as one of its last " + std::to_string(kRetainedRequests) +
            " requests: a retry must resend the same request (same first sequence and record "
            "count); the next new sequence is " +
            std::to_string(last + 1);
  return c;
}

void ProducerState::OnAppended(std::string_view producer_id, const StoredRequest& request,
                               int64_t now_ms) {
  auto [it, inserted] = producers_.try_emplace(std::string(producer_id));
  Producer& p = it->second;
  if (!inserted && request.first_sequence <= p.recent.back().last_sequence()) return;
  p.recent.push_back(request);
  while (p.recent.size() > kRetainedRequests) p.recent.pop_front();
  p.last_append_ms = std::max(p.last_append_ms, now_ms);
}

size_t ProducerState::ExpireIdle(int64_t now_ms, int64_t expiry_ms) {
  if (expiry_ms < 0) return 0;
  return std::erase_if(
      producers_, [&](const auto& kv) { return now_ms - kv.second.last_append_ms > expiry_ms; });
}

const ProducerState::Producer* ProducerState::Find(std::string_view producer_id) const {
  auto it = producers_.find(std::string(producer_id));
  return it == producers_.end() ? nullptr : &it->second;
}

Result<Offset> ProducerState::ScanLog(const log::PartitionLog& log, Offset from) {
  Offset at = std::max(from, log.earliest_offset());
  while (true) {
    ONCEFLOW_ASSIGN_OR_RETURN(auto read, log.Read(at, kScanBytes));
    if (read.batches.empty()) return at;
    for (const log::BatchView& batch : read.batches) {
      auto it = batch.records();
      RecordView first;
      Offset offset;
      if (!it.Next(&first, &offset)) continue;
      std::string_view id, seq;
      for (const HeaderView& h : first.headers) {
        if (h.key == kProducerIdHeader) id = h.value;
        if (h.key == kSequenceHeader) seq = h.value;
      }
      int64_t first_sequence = 0;
      if (id.empty() || !ParseInt(seq, &first_sequence)) continue;  // not an idempotent batch
      StoredRequest r{first_sequence, batch.header().record_count, batch.header().base_offset};
      OnAppended(id, r, batch.header().max_timestamp);
    }
    at = read.next_offset;
  }
}

// Layout, one item per line:
//   onceflow-producer-snapshot 1
//   covered <offset>
//   producer <id> <last_append_ms> <n> then n x " <first_sequence> <count> <base_offset>"
//   crc <crc32c of every byte before this line, decimal>
std::string ProducerState::EncodeSnapshot(Offset covered) const {
  std::ostringstream out;
  out << kSnapshotMagic << "\ncovered " << covered.value() << "\n";
  std::vector<const std::pair<const std::string, Producer>*> sorted;  // a stable file
  for (const auto& kv : producers_) sorted.push_back(&kv);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (const auto* kv : sorted) {
    const std::string& id = kv->first;
    const Producer& p = kv->second;
    out << "producer " << id << " " << p.last_append_ms << " " << p.recent.size();
    for (const StoredRequest& r : p.recent) {
      out << " " << r.first_sequence << " " << r.count << " " << r.base_offset.value();
    }
    out << "\n";
  }
  std::string text = out.str();
  text += "crc " + std::to_string(crc32c::Value(text)) + "\n";
  return text;
}

Result<Offset> ProducerState::DecodeSnapshot(std::string_view text, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Err(Status::Corruption("producer snapshot " + path + ": " + why));
  };
  const size_t crc_at = text.rfind("crc ");
  if (!text.starts_with(kSnapshotMagic) || crc_at == std::string_view::npos ||
      !text.ends_with('\n')) {
    return bad("missing header or crc line");
  }
  int64_t crc = 0;
  if (!ParseInt(text.substr(crc_at + 4, text.size() - crc_at - 5), &crc) ||
      static_cast<uint32_t>(crc) != crc32c::Value(text.substr(0, crc_at))) {
    return bad("checksum mismatch");
  }
  std::istringstream in{std::string(text.substr(0, crc_at))};
  std::string line;
  std::getline(in, line);  // magic
  std::string word;
  int64_t covered = -1;
  producers_.clear();
  while (in >> word) {
    if (word == "covered") {
      if (!(in >> covered)) return bad("bad covered offset");
    } else if (word == "producer") {
      std::string id;
      Producer p;
      size_t n = 0;
      if (!(in >> id >> p.last_append_ms >> n) || n == 0 || n > kRetainedRequests ||
          !ValidateProducerId(id).ok()) {
        return bad("bad producer line");
      }
      for (size_t i = 0; i < n; ++i) {
        StoredRequest r;
        int64_t base = 0;
        if (!(in >> r.first_sequence >> r.count >> base) || r.count == 0) {
          return bad("bad request of producer " + id);
        }
        r.base_offset = Offset(base);
        p.recent.push_back(r);
      }
      producers_[id] = std::move(p);
    } else {
      return bad("unknown item '" + word + "'");
    }
  }
  if (covered < 0) return bad("no covered offset");
  return Offset(covered);
}

Result<ProducerState> RecoverProducerState(const log::PartitionLog& log,
                                           const std::string& snapshot_path, int64_t now_ms,
                                           int64_t expiry_ms) {
  ProducerState state;
  Offset from = log.earliest_offset();
  if (PathExists(snapshot_path)) {
    auto text = ReadFileToString(snapshot_path);
    Result<Offset> covered =
        text.has_value() ? state.DecodeSnapshot(*text, snapshot_path) : Err(text.error());
    if (covered.has_value() && *covered <= log.end_offset()) {
      from = std::max(from, *covered);
    } else {
      // The log is the truth; the snapshot only saves a scan. Start over from the log.
      state = ProducerState();
    }
  }
  ONCEFLOW_RETURN_IF_ERROR(state.ScanLog(log, from));
  state.ExpireIdle(now_ms, expiry_ms);
  return state;
}

}  // namespace onceflow::receiver
