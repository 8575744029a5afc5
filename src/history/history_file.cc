// History generation files: entries are the embedded log's record batches (one record each), so
// their framing, length and CRC are the log's own (src/log/record_batch.h).
#include "history/history_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "history/history_format.h"
#include "log/log_format.h"
#include "log/record_batch.h"
#include "util/coding.h"
#include "util/file.h"

namespace onceflow::history {

std::string MakeHistoryFileName(uint64_t generation) {
  return fmt::format("{:020}.history", generation);
}

std::optional<uint64_t> ParseHistoryFileName(std::string_view name) {
  constexpr std::string_view kSuffix = ".history";
  if (name.size() != 20 + kSuffix.size() || !name.ends_with(kSuffix)) return std::nullopt;
  uint64_t generation = 0;
  const char* end = name.data() + 20;
  auto [ptr, ec] = std::from_chars(name.data(), end, generation);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return generation;
}

std::string HistoryDir(const std::string& checkpoint_dir) {
  return JoinPath(checkpoint_dir, kHistoryDirName);
}

std::string MakeBatchKey(int64_t batch_id, std::string_view outcome) {
  return fmt::format("{}{}:{}", kBatchKeyPrefix, batch_id, outcome);
}

std::optional<ParsedBatchKey> ParseBatchKey(std::string_view key) {
  if (!key.starts_with(kBatchKeyPrefix)) return std::nullopt;
  key.remove_prefix(kBatchKeyPrefix.size());
  ParsedBatchKey parsed;
  auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), parsed.batch_id);
  if (ec != std::errc() || ptr == key.data() + key.size() || *ptr != ':') return std::nullopt;
  parsed.outcome = key.substr(static_cast<size_t>(ptr - key.data()) + 1);
  return parsed;
}

std::string EncodeHistoryEntry(std::string_view key, std::string_view value, int64_t timestamp_ms,
                               int64_t index) {
  RecordView record;
  record.key = key;
  record.value = value;
  record.timestamp_ms = timestamp_ms;
  std::string batch = log::EncodeBatch({&record, 1});
  log::SetBaseOffset(batch.data(), Offset(index));
  return batch;
}

namespace {

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

}  // namespace

HistoryFileScan ScanHistoryFile(std::string_view bytes, uint64_t base) {
  HistoryFileScan scan;
  scan.valid_end = base;
  uint64_t pos = 0;
  while (pos < bytes.size()) {
    const std::string_view rest = bytes.substr(pos);
    // A header cut short, or zeros to the end (space the file system allocated for a write a
    // power loss cut off): a torn tail.
    if (rest.size() < log::kBatchHeaderSize || AllZero(rest)) break;
    const uint32_t length = coding::DecodeFixed32(rest.data() + log::kBatchLengthPos);
    if (length >= log::kBatchHeaderSize && length > rest.size()) break;  // cut short: torn
    Result<log::BatchView> view =
        log::BatchView::Parse(rest.substr(0, std::min<uint64_t>(length, rest.size())));
    if (!view.has_value()) {
      // The last entry of the file (nothing after it) was being written or was cut: torn.
      if (length == rest.size()) break;
      scan.damage = fmt::format("offset {}: {}", base + pos, view.error().message());
      break;
    }
    RecordView record;
    Offset offset;
    log::BatchView::Iterator it = view->records();
    if (!it.Next(&record, &offset) || !record.key.has_value()) {
      scan.damage = fmt::format("offset {}: an entry without a record or key", base + pos);
      break;
    }
    if (*record.key == kHeaderKey) {
      if (record.value.starts_with(kHeaderValuePrefix)) {
        const std::string_view n = record.value.substr(kHeaderValuePrefix.size());
        int64_t max = 0;
        auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), max);
        if (ec == std::errc() && ptr == n.data() + n.size()) scan.max_batches = max;
      }
    } else {
      scan.entries.push_back({.key = *record.key, .value = record.value, .position = base + pos});
    }
    pos += length;
    scan.valid_end = base + pos;
  }
  return scan;
}

}  // namespace onceflow::history
