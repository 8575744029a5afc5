// One history generation file as bytes: encoding an entry, and scanning a file's bytes into its
// entries, telling a torn tail (ignored) from damage (reported).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace onceflow::history {

// Encodes one entry (a log record batch of one record) as the `index`-th of its file.
std::string EncodeHistoryEntry(std::string_view key, std::string_view value, int64_t timestamp_ms,
                               int64_t index);

struct HistoryEntry {
  std::string_view key;  // views into the scanned bytes
  std::string_view value;
  uint64_t position = 0;  // where the entry starts in the file
};

struct HistoryFileScan {
  std::vector<HistoryEntry> entries;
  // The end of the last whole entry: a writer appends from here (cutting a torn tail).
  uint64_t valid_end = 0;
  // Set when the bytes after valid_end are damage rather than a torn tail: where and why.
  std::optional<std::string> damage;
  // From the header entry (0 when the file has none).
  int64_t max_batches = 0;
};

// Scans a file's bytes. A last entry cut short (a write in progress, or cut by a crash) and
// zeros after the last entry (a power loss) are a torn tail: ignored, no damage. A bad entry with
// more bytes after it is damage: scanning stops there (nothing after it is trusted).
// `base`: where `bytes` start in the file (a reader that scans only what was appended since its
// last scan passes the end of what it has scanned, an entry boundary); positions, valid_end and
// the damage's offset are the file's.
HistoryFileScan ScanHistoryFile(std::string_view bytes, uint64_t base = 0);

}  // namespace onceflow::history
